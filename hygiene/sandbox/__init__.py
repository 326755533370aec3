"""A local fake of Microsoft Graph and the Microsoft identity platform, for the demo, end-to-end tests and
benchmarks. The scanner talks to it with msal and requests exactly as it talks to Microsoft.

- :class:`Sandbox` (``hygiene.sandbox.server``): the HTTPS server;
- :class:`Scenario` (``hygiene.sandbox.scenario``): the tenant it serves, with the expected check results;
- :func:`northwind` (``hygiene.sandbox.northwind``): the built-in SME "Northwind Dental Ltd";
- :func:`generate` (``hygiene.sandbox.generator``): synthetic tenants of any size for benchmarks.
"""

from hygiene.sandbox.generator import generate
from hygiene.sandbox.northwind import northwind
from hygiene.sandbox.scenario import CHECK_IDS, Expectation, Scenario
from hygiene.sandbox.server import RefusedWrite, RequestRecord, Sandbox
from hygiene.sandbox.tls import ClientCertificate, generate_client_certificate

__all__ = [
    "CHECK_IDS",
    "ClientCertificate",
    "Expectation",
    "RefusedWrite",
    "RequestRecord",
    "Sandbox",
    "Scenario",
    "generate",
    "generate_client_certificate",
    "northwind",
]
