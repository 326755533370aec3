"""A local fake of Microsoft Graph and the Microsoft identity platform, and of Google's token endpoint, Admin
SDK Directory API and Cloud Identity devices API, for the demo, end-to-end tests and benchmarks. The scanner
talks to it with msal and requests, and with google-auth and google-api-python-client, exactly as it talks to
Microsoft and Google.

- :class:`Sandbox` (``hygiene_sandbox.server``): the HTTPS server (one port for both vendors);
- :class:`Scenario` (``hygiene_sandbox.scenario``): the tenant it serves, with the expected check results;
  its ``google`` field (:class:`GoogleScenario`, ``hygiene_sandbox.google``) is the Google Workspace side;
- :func:`northwind` (``hygiene_sandbox.northwind``): the built-in SME "Northwind Dental Ltd" (with its Leeds
  office on Google Workspace, ``hygiene_sandbox.northwind_leeds``);
- :func:`generate` (``hygiene_sandbox.generator``): synthetic tenants of any size for benchmarks.
"""

from hygiene_sandbox.expectation import Expectation
from hygiene_sandbox.generator import generate
from hygiene_sandbox.google import GOOGLE_CHECK_IDS, GoogleScenario
from hygiene_sandbox.northwind import northwind
from hygiene_sandbox.scenario import CHECK_IDS, Scenario
from hygiene_sandbox.server import RefusedWrite, RequestRecord, Sandbox
from hygiene_sandbox.tls import ClientCertificate, generate_client_certificate
from hygiene_sandbox.vendor import GOOGLE_SCOPES

__all__ = [
    "CHECK_IDS",
    "GOOGLE_CHECK_IDS",
    "GOOGLE_SCOPES",
    "ClientCertificate",
    "Expectation",
    "GoogleScenario",
    "RefusedWrite",
    "RequestRecord",
    "Sandbox",
    "Scenario",
    "generate",
    "generate_client_certificate",
    "northwind",
]
