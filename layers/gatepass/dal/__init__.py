"""Data access: the only code that talks to DynamoDB, S3, SNS, SES and Step Functions."""
