"""The domain: CloudTrail, detection, rules, alerts and notices as plain values (no boto3)."""
