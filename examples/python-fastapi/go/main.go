// Command orders-go deploys the orders API with the lambdacontainer Go SDK.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/lambdacontainer/pulumi-lambdacontainer/examples/python-fastapi/go/orders"
)

func main() { pulumi.Run(orders.Program("../backend")) }
