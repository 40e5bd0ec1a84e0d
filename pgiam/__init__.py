"""pgiam: a test-and-verification harness for IAM-authenticated PostgreSQL on AWS."""

__version__ = "0.1.0"
