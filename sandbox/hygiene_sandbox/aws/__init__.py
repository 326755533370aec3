"""A local fake of the AWS APIs hygiene reads (STS, Organizations, IAM, AWS Backup, RDS, EC2, SSM), behind one
endpoint, for the demo, end-to-end tests and benchmarks. The scanner talks to it with boto3 exactly as it talks to
AWS (``endpoint_url=sandbox.endpoint_url``).

- :class:`AwsSandbox` (``hygiene_sandbox.aws.server``): the front server and the moto server behind it;
- :class:`AwsScenario` (``hygiene_sandbox.aws.scenario``): the organisation it serves, with the expected results;
- :func:`northwind_aws` (``hygiene_sandbox.aws.northwind``): Northwind Dental's two AWS accounts;
- :func:`generate_aws` (``hygiene_sandbox.aws.generator``): synthetic organisations of any size.
"""

from hygiene_sandbox.aws.generator import generate_aws
from hygiene_sandbox.aws.northwind import northwind_aws
from hygiene_sandbox.aws.scenario import AWS_CHECK_IDS, Account, AwsScenario
from hygiene_sandbox.aws.server import AwsCredentials, AwsSandbox, RefusedWrite, RequestRecord

__all__ = [
    "AWS_CHECK_IDS",
    "Account",
    "AwsCredentials",
    "AwsSandbox",
    "AwsScenario",
    "RefusedWrite",
    "RequestRecord",
    "generate_aws",
    "northwind_aws",
]
