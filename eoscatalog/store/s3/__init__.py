"""S3 behind the Store protocol: the botocore client, its retry policy, byte transfers, credential
redaction. Imported only when an S3 store is used (import eoscatalog loads no botocore)."""
