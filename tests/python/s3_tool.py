"""Test-side S3 client (boto3, installed with moto): an oracle independent of the tool's own
S3 code. Used by tests/s3.rs to seed buckets, read back outputs and replace objects.

    s3_tool.py ENDPOINT mkbucket BUCKET
    s3_tool.py ENDPOINT upload DIR s3://BUCKET/PREFIX
    s3_tool.py ENDPOINT download s3://BUCKET/PREFIX DIR
    s3_tool.py ENDPOINT put FILE s3://BUCKET/KEY
    s3_tool.py ENDPOINT delete s3://BUCKET/PREFIX
    s3_tool.py ENDPOINT etag s3://BUCKET/KEY
    s3_tool.py ENDPOINT ctype s3://BUCKET/KEY
    s3_tool.py ENDPOINT count s3://BUCKET/PREFIX
"""
import os
import sys

import boto3


def split(url):
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def main():
    endpoint, cmd, *args = sys.argv[1:]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    if cmd == "mkbucket":
        s3.create_bucket(Bucket=args[0])
    elif cmd == "upload":
        local, url = args
        bucket, prefix = split(url)
        for root, _, files in os.walk(local):
            for f in files:
                path = os.path.join(root, f)
                rel = os.path.relpath(path, local).replace(os.sep, "/")
                key = f"{prefix}/{rel}" if prefix else rel
                s3.upload_file(path, bucket, key)
    elif cmd == "download":
        url, local = args
        bucket, prefix = split(url)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix):].lstrip("/") if prefix else obj["Key"]
                path = os.path.join(local, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                s3.download_file(bucket, obj["Key"], path)
    elif cmd == "put":
        local, url = args
        bucket, key = split(url)
        s3.upload_file(local, bucket, key)
    elif cmd == "delete":
        bucket, prefix = split(args[0])
        # List everything first: deleting between pages can make the next page skip keys.
        keys = [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]
        for key in keys:
            s3.delete_object(Bucket=bucket, Key=key)
        left = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)
        if left:
            sys.exit(f"delete s3://{bucket}/{prefix}: {left} objects remain")
    elif cmd == "etag":
        bucket, key = split(args[0])
        print(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    elif cmd == "ctype":
        bucket, key = split(args[0])
        print(s3.head_object(Bucket=bucket, Key=key)["ContentType"])
    elif cmd == "count":
        bucket, prefix = split(args[0])
        n = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            n += len(page.get("Contents", []))
        print(n)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
