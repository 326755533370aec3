"""Regenerate ``graph-v1.0.json``: a trimmed extract of Microsoft Graph's published metadata.

Run by hand, with a checkout (or bare mirror) of https://github.com/microsoftgraph/msgraph-metadata::

    python tests/contract/graph/extract.py /path/to/msgraph-metadata [--commit SHA]

With a bare git directory the files are read with ``git show <commit>:<file>``. The v1.0 source is
``schemas/v1.0-Prod.csdl``: the ``$metadata`` document the worldwide (Prod) v1.0 service publishes, handed over
unchanged by Graph's runtime. (``clean_v10_metadata/cleanMetadata.xml`` is that document after
``transforms/csdl/preprocess_csdl.xsl``, which rewrites it for SDK generation, so it is not what the service says.)
The beta CSDL is too large for the mirror; for the one beta call the source makes, the beta type-mapping files
(``schemas/type-mappings/beta-*.json``: names of properties, navigation properties and enum members, no types)
are used, and the property types they lack are stated in ``BETA_TYPES`` from the Learn pages.

Starting from ``ROOT_PATHS`` (the URL paths the source and the sandbox use) and ``ROOT_TYPES``, the extract
follows, transitively: the entity sets / singletons and navigation properties on those paths, base types, the
types of every structural property (complex and enum types), the derived types of abstract complex types and of
the types named in ``WITH_DERIVED``, and the bound functions named in ``FUNCTIONS``. Every property and navigation
property of an included type is listed (a fake must not invent one); the targets of navigation properties are
only included when a root path or root type names them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
V1_FILE = "schemas/v1.0-Prod.csdl"
BETA_FILES = {
    "entity": "schemas/type-mappings/beta-entity-types.json",
    "complex": "schemas/type-mappings/beta-complex-types.json",
    "enum": "schemas/type-mappings/beta-enum-types.json",
}
OUT = Path(__file__).with_name("graph-v1.0.json")

#: URL paths (v1.0) the M365 source and the sandbox use; ``{id}`` is a key segment
ROOT_PATHS: tuple[str, ...] = (
    "users/{id}/authentication/methods",
    "groups/{id}/transitiveMembers",
    "groups/{id}/members",
    "reports/authenticationMethods/userRegistrationDetails/{id}",
    "policies/identitySecurityDefaultsEnforcementPolicy",
    "identity/conditionalAccess/policies/{id}",
    "roleManagement/directory/roleDefinitions/{id}",
    "roleManagement/directory/roleAssignments/{id}/principal",
    "roleManagement/directory/roleAssignments/{id}/roleDefinition",
    "roleManagement/directory/roleEligibilityScheduleInstances/{id}/principal",
    "roleManagement/directory/roleEligibilityScheduleInstances/{id}/roleDefinition",
    "roleManagement/directory/roleAssignmentScheduleInstances/{id}/principal",
    "roleManagement/directory/roleAssignmentScheduleInstances/{id}/roleDefinition",
    "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances/{id}/principal",
    "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances/{id}/group",
    "identityGovernance/privilegedAccess/group/assignmentScheduleInstances/{id}/principal",
    "identityGovernance/privilegedAccess/group/assignmentScheduleInstances/{id}/group",
    "subscribedSkus/{id}",
    "domains/{id}",
    "deviceManagement/managedDevices/{id}",
    "deviceManagement/managedDevices/{id}/windowsProtectionState",
    "deviceManagement/deviceCompliancePolicies/{id}/assignments/{id}",
    "solutions/backupRestore",
    "solutions/backupRestore/protectionPolicies/{id}",
    "solutions/backupRestore/exchangeProtectionPolicies/{id}",
    "solutions/backupRestore/sharePointProtectionPolicies/{id}",
    "solutions/backupRestore/oneDriveForBusinessProtectionPolicies/{id}",
    "policies/authorizationPolicy",
    "policies/adminConsentRequestPolicy",
    "servicePrincipals/{id}/appRoleAssignedTo/{id}",
    "applications/{id}",
)
#: types served as members / principals (``directoryObject`` has dozens of derived types: only these)
ROOT_TYPES: tuple[str, ...] = (
    "microsoft.graph.user",
    "microsoft.graph.group",
    "microsoft.graph.servicePrincipal",
    # device members of a group (transitiveMembers/microsoft.graph.device: their deviceId for Intune assignments)
    "microsoft.graph.device",
    # conditionalAccessGrantControls.authenticationStrength: a navigation property Graph answers inline
    "microsoft.graph.authenticationStrengthPolicy",
)
#: abstract entity types whose every derived type is included (complex abstract types always are)
WITH_DERIVED: tuple[str, ...] = (
    "microsoft.graph.authenticationMethod",
    "microsoft.graph.deviceCompliancePolicy",
    "microsoft.graph.protectionPolicyBase",
)
#: bound functions the source calls: binding type -> function names
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "microsoft.graph.reportRoot": ("getOffice365ActiveUserDetail",),
}

#: the beta call: path -> the type it returns; and the beta types with the property types the mapping files lack
#: (https://learn.microsoft.com/graph/api/resources/authentication?view=graph-rest-beta,
#: https://learn.microsoft.com/graph/api/resources/strongauthenticationrequirements?view=graph-rest-beta)
BETA_PATHS: dict[str, str] = {
    "users/{id}/authentication/requirements": "microsoft.graph.strongAuthenticationRequirements"
}
BETA_TYPES: dict[str, dict[str, str]] = {
    # entity type authentication: only the structural property on the path is typed here
    "microsoft.graph.authentication": {"requirements": "microsoft.graph.strongAuthenticationRequirements"},
    "microsoft.graph.strongAuthenticationRequirements": {"perUserMfaState": "microsoft.graph.perUserMfaState"},
    # beta only: not in the v1.0 CSDL (https://learn.microsoft.com/graph/api/resources/hardwareoathauthenticationmethod
    # ?view=graph-rest-beta, "Inherits from authenticationMethod"); kept so that the gap is visible
    "microsoft.graph.hardwareOathAuthenticationMethod": {},
}
#: base types the mapping files do not carry (from the same Learn pages)
BETA_BASES: dict[str, str] = {
    "microsoft.graph.hardwareOathAuthenticationMethod": "microsoft.graph.authenticationMethod"
}


def read(source: Path, name: str, commit: str) -> bytes:
    if (source / name).is_file():
        return (source / name).read_bytes()
    return subprocess.run(
        ["git", "-C", str(source), "show", f"{commit}:{name}"], check=True, capture_output=True
    ).stdout


class Csdl:
    def __init__(self, xml: bytes) -> None:
        # run by hand on Microsoft's published metadata, not on input from the network at test time
        root = ET.fromstring(xml)  # noqa: S314
        self.aliases: dict[str, str] = {}
        self.types: dict[str, tuple[str, ET.Element]] = {}
        self.enums: dict[str, ET.Element] = {}
        self.functions: dict[tuple[str, str], list[ET.Element]] = {}
        self.container: dict[str, tuple[str, str]] = {}
        schemas = list(root.iter(f"{EDM}Schema"))
        for schema in schemas:
            namespace = schema.get("Namespace", "")
            self.aliases[schema.get("Alias") or namespace] = namespace
        for schema in schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                tag = element.tag.removeprefix(EDM)
                name = f"{namespace}.{element.get('Name')}"
                if tag in ("EntityType", "ComplexType"):
                    self.types[name] = (tag, element)
                elif tag == "EnumType":
                    self.enums[name] = element
                elif tag == "Function" and element.get("IsBound") == "true":
                    binding = element.find(f"{EDM}Parameter")
                    assert binding is not None
                    self.functions.setdefault((self.full(binding.get("Type", "")), name), []).append(element)
                elif tag == "EntityContainer":
                    for item in element:
                        kind = item.tag.removeprefix(EDM)
                        if kind in ("EntitySet", "Singleton"):
                            type_name = item.get("EntityType") or item.get("Type") or ""
                            self.container[item.get("Name", "")] = (kind, self.full(type_name))

    def full(self, name: str) -> str:
        """``graph.user`` / ``Collection(graph.user)`` -> ``microsoft.graph.user`` / ``Collection(...)``."""
        if name.startswith("Collection(") and name.endswith(")"):
            return f"Collection({self.full(name[11:-1])})"
        if name.startswith("Edm."):
            return name
        alias, _, local = name.rpartition(".")
        return f"{self.aliases.get(alias, alias)}.{local}"

    def base(self, name: str) -> str | None:
        base = self.types[name][1].get("BaseType")
        return self.full(base) if base else None

    def derived(self, name: str) -> list[str]:
        found = []
        for candidate in self.types:
            current: str | None = candidate
            while current is not None and current in self.types:
                current = self.base(current)
                if current == name:
                    found.append(candidate)
                    break
        return sorted(found)


def element_type(name: str) -> str:
    return name[11:-1] if name.startswith("Collection(") else name


class Extractor:
    def __init__(self, csdl: Csdl) -> None:
        self.csdl = csdl
        self.types: dict[str, dict[str, Any]] = {}
        self.enums: dict[str, dict[str, Any]] = {}

    def add(self, name: str, expand: bool = True) -> None:
        """Include a type; ``expand=False`` (a type only passed through on a path, e.g. the ``deviceManagement``
        singleton) lists its properties without following their types, and marks it ``partial``."""
        name = element_type(name)
        if name.startswith("Edm.") or name in self.enums:
            return
        if name in self.types:
            if not (expand and self.types[name].get("partial")):
                return
            del self.types[name]
        if name in self.csdl.enums:
            element = self.csdl.enums[name]
            # in order of value: Graph replaces members numerically after unknownFutureValue with it, unless the
            # client sends Prefer: include-unknown-enum-members (microsoft/api-guidelines, evolvable-enums.md)
            declared = list(enumerate(element.findall(f"{EDM}Member")))
            ordered = sorted(declared, key=lambda item: int(item[1].get("Value") or item[0]))
            self.enums[name] = {
                "flags": element.get("IsFlags") == "true",
                "members": [member.get("Name") for _, member in ordered],
            }
            return
        if name not in self.csdl.types:
            raise SystemExit(f"type {name} is not in the CSDL")
        tag, element = self.csdl.types[name]
        entry: dict[str, Any] = {"kind": "entity" if tag == "EntityType" else "complex"}
        base = self.csdl.base(name)
        if base:
            entry["base"] = base
        if element.get("Abstract") == "true":
            entry["abstract"] = True
        if element.get("OpenType") == "true":
            entry["open"] = True
        if not expand:
            entry["partial"] = True
        if tag == "EntityType":
            key = element.find(f"{EDM}Key")
            if key is not None:
                entry["key"] = [k.get("Name") for k in key.findall(f"{EDM}PropertyRef")]
        properties = {}
        for prop in element.findall(f"{EDM}Property"):
            type_name = self.csdl.full(prop.get("Type", ""))
            properties[prop.get("Name")] = {"type": type_name, "nullable": prop.get("Nullable") != "false"}
        entry["properties"] = properties
        entry["navigation"] = {
            nav.get("Name"): self.csdl.full(nav.get("Type", "")) for nav in element.findall(f"{EDM}NavigationProperty")
        }
        self.types[name] = entry
        if base:
            self.add(base, expand)
        if not expand:
            return
        for prop in properties.values():
            self.add(prop["type"])
        if tag == "ComplexType" and element.get("Abstract") == "true":
            for derived in self.csdl.derived(name):
                self.add(derived)

    def declared(self, name: str) -> dict[str, Any]:
        """Own and inherited properties and navigation properties of an included type."""
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            chain.append(current)
            current = self.types[current].get("base")
        merged: dict[str, Any] = {"properties": {}, "navigation": {}}
        for type_name in reversed(chain):
            merged["properties"].update(self.types[type_name]["properties"])
            merged["navigation"].update(self.types[type_name]["navigation"])
        return merged

    def walk(self, path: str) -> None:
        head, *rest = path.split("/")
        if head not in self.csdl.container:
            raise SystemExit(f"{path}: {head} is neither an entity set nor a singleton")
        kind, current = self.csdl.container[head]
        # a collection is always read; a single entity only passed through (a singleton root) is not
        self.add(current, expand=not rest or kind == "EntitySet")
        collection = kind == "EntitySet"
        for index, segment in enumerate(rest):
            if segment == "{id}":
                if not collection:
                    raise SystemExit(f"{path}: key segment on a single entity")
                collection = False
                continue
            target = self.declared(current)["navigation"].get(segment)
            if target is None:
                raise SystemExit(f"{path}: {current} has no navigation property {segment}")
            collection = target.startswith("Collection(")
            current = element_type(target)
            last = all(s == "{id}" for s in rest[index + 1 :])
            self.add(current, expand=last or collection)

    def functions(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for binding, names in FUNCTIONS.items():
            self.add(binding, expand=False)
            for local in names:
                overloads = self.csdl.functions.get((binding, f"microsoft.graph.{local}"))
                if not overloads:
                    raise SystemExit(f"no function {local} bound to {binding}")
                for element in overloads:
                    returns = element.find(f"{EDM}ReturnType")
                    out.setdefault(binding, {}).setdefault(local, []).append(
                        {
                            "parameters": {
                                p.get("Name"): self.csdl.full(p.get("Type", ""))
                                for p in element.findall(f"{EDM}Parameter")[1:]
                            },
                            "returns": self.csdl.full(returns.get("Type", "")) if returns is not None else None,
                        }
                    )
        return out


def beta_extract(source: Path, commit: str) -> dict[str, Any]:
    mappings = {kind: json.loads(read(source, name, commit))["microsoft.graph"] for kind, name in BETA_FILES.items()}
    types: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    for full, typed in BETA_TYPES.items():
        local = full.removeprefix("microsoft.graph.")
        kind = "entity" if local in mappings["entity"] else "complex"
        mapped = mappings[kind][local]
        for prop in typed:
            if prop not in mapped["properties"]:
                raise SystemExit(f"beta {local} has no property {prop}")
        types[full] = {
            "kind": kind,
            **({"base": BETA_BASES[full]} if full in BETA_BASES else {}),
            "properties": {p: {"type": typed.get(p), "nullable": True} for p in mapped["properties"]},
            "navigation": dict.fromkeys(mapped["navigationProperties"]),
        }
        for type_name in typed.values():
            enum = type_name.removeprefix("microsoft.graph.")
            if enum in mappings["enum"]:
                enums[type_name] = {"flags": False, "members": mappings["enum"][enum]}
    user = mappings["entity"]["user"]
    if "authentication" not in user["navigationProperties"]:
        raise SystemExit("beta user has no navigation property authentication")
    return {
        "source": [BETA_FILES[k] for k in ("entity", "complex", "enum")],
        "note": (
            "built from the beta type-mapping files (names only): property types come from the Learn pages cited "
            "in tests/contract/graph/extract.py (BETA_TYPES); a property typed null is declared but not typed here; "
            "enum flags are not in the mapping files (perUserMfaState is not a flags enum on Learn)"
        ),
        "paths": BETA_PATHS,
        "types": types,
        "enums": enums,
    }


def dump(value: Any, indent: str = "") -> str:
    """JSON with one line per property (a dict or list of scalars stays on one line): short, diffable."""
    if isinstance(value, dict) and value and any(isinstance(v, dict | list) and v for v in value.values()):
        inner = indent + " "
        items = [f"{inner}{json.dumps(k)}: {dump(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + dump(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("metadata", type=Path, help="msgraph-metadata checkout or bare git directory")
    parser.add_argument("--commit", default="HEAD", help="commit to read from a git directory (default HEAD)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    source: Path = args.metadata
    commit = args.commit
    if not (source / V1_FILE).is_file():
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", f"{args.commit}^{{commit}}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    csdl = Csdl(read(source, V1_FILE, commit))
    extractor = Extractor(csdl)
    for name in ROOT_TYPES:
        extractor.add(name)
    for name in WITH_DERIVED:
        extractor.add(name)
        for derived in csdl.derived(name):
            extractor.add(derived)
    for path in ROOT_PATHS:
        extractor.walk(path)
    functions = extractor.functions()
    heads = sorted({p.split("/", 1)[0] for p in ROOT_PATHS})
    extract = {
        "source": {
            "repository": "https://github.com/microsoftgraph/msgraph-metadata",
            "commit": commit,
            "file": V1_FILE,
            "generator": "tests/contract/graph/extract.py",
        },
        "roots": {"paths": list(ROOT_PATHS), "types": list(ROOT_TYPES), "with_derived": list(WITH_DERIVED)},
        "container": {name: {"kind": csdl.container[name][0], "type": csdl.container[name][1]} for name in heads},
        "types": dict(sorted(extractor.types.items())),
        "enums": dict(sorted(extractor.enums.items())),
        "functions": functions,
        "beta": beta_extract(source, commit),
    }
    args.out.write_text(dump(extract) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(extractor.types)} types, {len(extractor.enums)} enums from {V1_FILE} @ {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
