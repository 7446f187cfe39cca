// The Pulumi program that deploys the orders API: a function the deployment
// creates and owns, the image built from the backend's source, and the alias
// moved once the new version answers.
import * as pulumi from "@pulumi/pulumi";
import * as lambdacontainer from "@lambdacontainer/pulumi";

export function orders(backend: string) {
    return async () => {
        const config = new pulumi.Config();
        const api = new lambdacontainer.LambdaContainerDeployment("api", {
            "function": "orders-api",
            functionSettings: {
                role: config.require("functionRole"),
                memoryMb: 512,
                timeoutSeconds: 30,
                environment: { STAGE: "dev", CURRENCY: "EUR" },
            },
            repository: "orders-api",
            tags: { team: "orders" },
            context: backend,
            buildArgs: { BASE_IMAGE: config.get("baseImage") ?? "public.ecr.aws/lambda/python:3.11" },
            alias: "live",
            verify: {
                http: { method: "GET", path: "/health" },
                expectStatus: 200,
                expectBodyContains: '"status":"ok"',
            },
        });
        return { imageUri: api.imageUri, version: api.version, verification: api.verification };
    };
}
