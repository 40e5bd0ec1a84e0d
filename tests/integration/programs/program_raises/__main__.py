"""A program that fails half-way, from a helper module, as real programs do."""

import pulumi_aws as aws

from helpers import subnet_count

aws.s3.Bucket("logs")
aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet_count("10.0.0.0/33")
