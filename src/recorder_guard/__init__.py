"""recorder-guard: detect and respond when the AWS Config configuration recorder is stopped."""

__version__ = "0.1.0"
