"""A local fake of Microsoft Graph and the Microsoft identity platform, and of Google's token endpoint, Admin
SDK Directory API and Cloud Identity devices API, for the demo, end-to-end tests and benchmarks. The scanner
talks to it with msal and requests, and with google-auth and google-api-python-client, exactly as it talks to
Microsoft and Google.

- :class:`Sandbox` (``hygiene.sandbox.server``): the HTTPS server (one port for both vendors);
- :class:`Scenario` (``hygiene.sandbox.scenario``): the tenant it serves, with the expected check results;
  its ``google`` field (:class:`GoogleScenario`, ``hygiene.sandbox.google``) is the Google Workspace side;
- :func:`northwind` (``hygiene.sandbox.northwind``): the built-in SME "Northwind Dental Ltd" (with its Leeds
  office on Google Workspace, ``hygiene.sandbox.northwind_leeds``);
- :func:`generate` (``hygiene.sandbox.generator``): synthetic tenants of any size for benchmarks.
"""

from hygiene.sandbox.expectation import Expectation
from hygiene.sandbox.generator import generate
from hygiene.sandbox.google import GOOGLE_CHECK_IDS, GOOGLE_SCOPES, GoogleScenario
from hygiene.sandbox.northwind import northwind
from hygiene.sandbox.scenario import CHECK_IDS, Scenario
from hygiene.sandbox.server import RefusedWrite, RequestRecord, Sandbox
from hygiene.sandbox.tls import ClientCertificate, generate_client_certificate

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
