"""The orders API: a FastAPI app served on AWS Lambda through mangum."""
