// Build a Python backend's container image with BuildKit, push it to Amazon ECR, roll an AWS Lambda function onto it, prove the new version works, and roll back when it doesn't: in one resource, driven by a content hash of the source.
package lambdacontainer
