#!/usr/bin/env python3
"""Writes the X-Road simulator fixtures under examples/xroad/fixtures/ (see fixtures/README.md).

Run from anywhere: python3 examples/xroad/generate_fixtures.py. The output is committed; rerun after
editing the tables below. Deterministic: the same tables give byte-identical files.
"""
import json
import os
import shutil

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

ENVS = {"dev": "EE-DEV", "staging": "EE-TEST", "prod": "EE"}
ALL = ("dev", "staging", "prod")

# A service: (code, envs, options). options: fmt (yaml/json), title, desc, summary, data, pricing, links,
# special: "invalid" (unparseable YAML), "hidden" (x-hide-api-catalogue), "error500" (getOpenAPI answers 500),
# "notitle" (no info.title), "badcategory" (x-category: secret).
def svc(code, envs=ALL, **opts):
    return (code, tuple(envs), opts)

# A member: (class, canonical code, name, {env: code there}, [(subsystem, [services] | "client" | ...)])
MEMBERS = [
    ("GOV", "70000562", "Population Register", {"dev": "10000562", "staging": "90000562"}, [
        ("rr-public", [
            svc("getPerson-v1", data=["personal", "official"], title="Person v1",
                desc="Returns a person from the population register.\nOnly current data."),
            svc("getPerson-v2", data=["personal", "official"], title="Person v2",
                desc="Returns a person with their address history.\nCurrent and past data."),
            svc("getPerson-v10", fmt="json", data=["personal", "official"], title="Person v10",
                summary="Person with residence permits", desc="Returns a person with residence permits."),
            svc("searchPersons-v1.2", fmt="json", data=["personal"], pricing=["paid"], title="Search persons"),
            svc("personHistory", ("staging", "prod"), data=["personal"], title="Person history"),
            svc("addressBook-v1", special="invalid"),
            svc("internalAudit-v1", special="hidden", title="Internal audit"),
            svc("deathRecords-v1", special="error500"),
            svc("deathRecords-v2", data=["official"], title="Death records"),
            svc("untitled-v1", ("dev",), special="notitle"),
            svc("secretData-v1", ("dev", "staging"), special="badcategory", title="Secret data"),
        ]),
        ("rr-protected", [svc("getAddress-v1", data=["official"]), svc("getAddress-v2", data=["official"])]),
        ("rr-private", [svc("exportAll-v1", data=["personal"])]),
        ("rr-portal-client", "client"),
    ]),
    ("GOV", "70000310", "Ministry of the Interior", {}, [
        ("smit-public", [
            svc("getIncidentReports-v1", ("prod",), fmt="json", data=["official"]),
            svc("emergencyNumbers", data=["open", "public"]),
        ]),
        ("kmais-client", "client"),
    ]),
    ("GOV", "70003158", "Tax and Customs Board", {"dev": "10003158"}, [
        ("emta-public", [
            svc("vatDeclarations-v1", data=["financial"]),
            svc("vatDeclarations-v2", data=["financial"]),
            svc("customsTariffs-v3", ("staging", "prod"), fmt="json", data=["public"]),
        ]),
        ("emta-private", [svc("internalRisk-v1", data=["financial"])]),
        ("emta", [svc("incomeStatements-v1", ("dev", "prod"), data=["financial", "personal"])]),
    ]),
    ("GOV", "70008440", "Health Board", {}, [
        ("tervis-protected", [
            svc("vaccinationRecords-v1", data=["health", "personal"]),
            svc("pharmacies-v1", ("prod",), fmt="json", data=["open"]),
        ]),
    ]),
    ("GOV", "70001484", "Land Board", {}, [
        ("maaamet-public", [
            svc("cadastre-v1", data=["open"]),
            svc("cadastre-v2", data=["open"]),
            svc("addressSearch-v5", ("staging", "prod"), fmt="json", data=["open"]),
        ]),
    ]),
    ("GOV", "70000740", "Transport Administration", {}, [
        ("mnt-public", [
            svc("vehicleRegistry-v1", data=["official"]),
            svc("vehicleRegistry-v2", fmt="json", data=["official"]),
            svc("vehicleRegistry-v11", data=["official"]),
            svc("drivingLicences-v1", ("prod",), data=["personal"]),
        ]),
    ]),
    ("GOV", "70006317", "Statistics Estonia", {}, [
        ("stat-public", [
            svc("populationStats-v1", data=["open"]),
            svc("priceIndex-v2.1", fmt="json", data=["open"]),
        ]),
    ]),
    ("GOV", "70005303", "Police and Border Guard Board", {"dev": "10005303", "staging": "90005303"}, [
        ("ppa-protected", [
            svc("wantedPersons-v1", data=["personal", "official"]),
            svc("weaponPermits-v1", ("dev",), data=["personal"]),
        ]),
        ("ppa-client", "client"),
    ]),
    ("COM", "10000001", "Telia Eesti AS", {}, [
        ("telia-public", [svc("numberPortability-v1", ("staging", "prod"), data=["public"], pricing=["paid"])]),
    ]),
    ("COM", "10421629", "Eesti Energia AS", {}, [
        ("energia-public", [
            svc("meterReadings-v1", data=["personal"]),
            svc("meterReadings-v2", fmt="json", data=["personal"]),
            svc("tariffs", ("prod",), data=["public"]),
        ]),
    ]),
    ("COM", "11254567", "Cargo Logistics OÜ", {}, [
        # Its dev listMethods answers malformed JSON (see README): a misbehaving provider.
        ("tracking-public", [svc("shipmentStatus-v1", ("dev",), data=["public"])], "malformed-methods"),
        ("logistics-protected", [svc("customsDeclarations-v1", data=["official"])]),
    ]),
    ("COM", "12345678", "Pank AS", {"staging": "92345678"}, [
        ("pank-protected", [svc("accountStatements-v1", data=["financial", "personal"], pricing=["paid"])]),
        ("pank-client", "client"),
    ]),
    ("COM", "14000222", "Healthtech OÜ", {}, [
        ("ht-public", [svc("appointmentBooking-v1", ("dev", "staging"), fmt="json", data=["health"])]),
    ]),
    ("NGO", "80000001", "Estonian Red Cross", {}, [
        ("redcross-public", [svc("bloodDonationCentres-v1", data=["open"])]),
    ]),
    ("NGO", "80123456", "Open Data Society", {}, [
        ("opendata-public", [
            svc("datasets-v1", data=["open"]),
            svc("datasets-v2", data=["open"]),
            svc("datasetSearch", ("dev",), fmt="json", data=["open"]),
        ]),
    ]),
    ("NGO", "80234567", "Animal Protection Society", {}, [
        ("animals", [svc("lostPets-v1", ("prod",), data=["public"])]),
    ]),
    ("NEE", "90000001", "Tallinn University of Technology", {}, [
        ("taltech-public", [
            svc("courses-v1", data=["open"]),
            svc("researchers-v2", ("staging", "prod"), fmt="json", data=["public"]),
        ]),
    ]),
    ("NEE", "90010019", "University of Tartu", {}, [
        ("ut-protected", [svc("diplomas-v1", data=["personal", "official"])]),
        ("ut-client", "client"),
    ]),
]


def _literal_multiline(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


yaml.SafeDumper.add_representer(str, _literal_multiline)


def words(code):
    base = code.split("-v")[0]
    out = ""
    for ch in base:
        out += (" " + ch.lower()) if ch.isupper() else ch
    return out.strip().capitalize()


def spec_text(code, member_name, env, opts):
    special = opts.get("special")
    title = opts.get("title") or words(code)
    if special == "invalid":
        # An unclosed flow sequence: neither YAML nor JSON.
        return "yaml", "openapi: 3.0.0\ninfo:\n  title: [" + title + "\n  version: 1.0.0\npaths: {}\n"
    version = code.split("-v")[1] if "-v" in code else "1"
    info = {"title": title, "version": version + (".0" * (2 - version.count("."))) if version[0].isdigit() else version}
    if opts.get("summary"):
        info["summary"] = opts["summary"]
    info["description"] = opts.get("desc") or (title + " by " + member_name + " (" + env + ").\nServed over X-Road.")
    if special == "notitle":
        del info["title"]
    info["x-category"] = ["secret"] if special == "badcategory" else list(opts.get("data", ["public"]))
    info["x-pricing"] = list(opts.get("pricing", ["free"]))
    info["x-links"] = [
        {"name": "Documentation", "url": "https://docs.example.ee/" + code},
        {"name": "Terms of use", "url": "https://docs.example.ee/terms", "weight": 2},
    ]
    if special == "hidden":
        info["x-hide-api-catalogue"] = True
    path = "/" + code.split("-v")[0]
    doc = {
        "openapi": "3.0.3",
        "info": info,
        "servers": [{"url": "https://api.example.ee/" + env}],
        "paths": {path: {"get": {"summary": title, "operationId": code.split("-v")[0],
                                 "responses": {"200": {"description": "OK"}}}}},
    }
    if opts.get("fmt") == "json":
        return "json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return "yaml", yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def xroad_error(type_, message):
    return json.dumps({"type": type_, "message": message, "detail": "simulated"}) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    for env in ALL:
        shutil.rmtree(os.path.join(OUT, env), ignore_errors=True)
    mapping = {env: {} for env in ALL}
    for env, instance in ENVS.items():
        members = []
        for cls, canonical, name, codes, subsystems in MEMBERS:
            code = codes.get(env, canonical)
            if code != canonical:
                mapping[env][code] = canonical
            entries = []
            for entry in subsystems:
                subsystem, services = entry[0], entry[1]
                flags = entry[2:] if len(entry) > 2 else ()
                ident = {"object_type": "SUBSYSTEM", "xroad_instance": instance, "member_class": cls,
                         "member_code": code, "subsystem_code": subsystem}
                if services == "client":
                    entries.append({"name": name, "id": ident})
                    continue
                present = [s for s in services if env in s[1]]
                if not present:
                    continue
                entries.append({"name": name, "id": ident})
                pdir = os.path.join(OUT, env, "providers", instance, cls, code, subsystem)
                methods = {"service": [{"object_type": "SERVICE", "xroad_instance": instance, "member_class": cls,
                                        "member_code": code, "subsystem_code": subsystem, "service_code": s[0]}
                                       for s in present]}
                if "malformed-methods" in flags and env == "dev":
                    write(os.path.join(pdir, "methods.json"), json.dumps(methods)[:-17] + "<html>Bad Gateway")
                else:
                    write(os.path.join(pdir, "methods.json"), json.dumps(methods, indent=2) + "\n")
                for scode, _, opts in present:
                    if opts.get("special") == "error500":
                        write(os.path.join(pdir, "specs", scode + ".500"),
                              xroad_error("Server.ServerProxy.InternalError", "Failed to read the service description"))
                        continue
                    ext, text = spec_text(scode, name, env, opts)
                    write(os.path.join(pdir, "specs", scode + "." + ext), text)
            if entries:
                members.append({"name": name, "id": {"object_type": "MEMBER", "xroad_instance": instance,
                                                     "member_class": cls, "member_code": code}})
                members.extend(entries)
        write(os.path.join(OUT, env, "clients.json"), json.dumps({"member": members}, indent=2, ensure_ascii=False) + "\n")
    write(os.path.join(OUT, "member-codes.json"), json.dumps(mapping, indent=2) + "\n")


if __name__ == "__main__":
    main()
