// Command testfunction is a Lambda function built on AWS's own runtime
// client, github.com/aws/aws-lambda-go. localaws's tests build it into a
// FROM scratch image and run it, to prove that localaws's Runtime API is
// the one real functions speak.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Name string `json:"name"`
	Fail bool   `json:"fail"`
}

type reply struct {
	Hello      string `json:"hello"`
	RequestID  string `json:"requestId"`
	Function   string `json:"function"`
	InvokedArn string `json:"invokedArn"`
	Memory     string `json:"memory"`
	TraceID    string `json:"traceId"`
	Region     string `json:"region"`
	Version    string `json:"version"`
	Handler    string `json:"handler"`
	Dir        string `json:"dir"`
	ImageStage string `json:"imageStage"` // set by the image's ENV
}

func handle(ctx context.Context, e event) (reply, error) {
	if e.Fail {
		return reply{}, errors.New("asked to fail")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	dir, _ := os.Getwd()
	return reply{Hello: e.Name, RequestID: lc.AwsRequestID, InvokedArn: lc.InvokedFunctionArn,
		Function: lambdacontext.FunctionName, Memory: os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), TraceID: os.Getenv("_X_AMZN_TRACE_ID"),
		Region: os.Getenv("AWS_REGION"), Version: lambdacontext.FunctionVersion, Handler: os.Getenv("_HANDLER"), Dir: dir, ImageStage: os.Getenv("IMAGE_STAGE")}, nil
}

func main() { lambda.Start(handle) }
