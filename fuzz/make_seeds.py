#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: a handful of valid inputs per target,
so that the fuzzer starts from the shapes the parsers accept. Run from the repository root:
`python3 fuzz/make_seeds.py`. The JWS seeds are signed with the RFC 8037 example key (the fuzz
targets' fixed key); that needs the `cryptography` package, and without it those few seeds are
skipped."""

import base64
import hashlib
import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
NOW = 1_780_000_000


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write(target, seeds):
    d = os.path.join(ROOT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, s in enumerate(seeds):
        if isinstance(s, str):
            s = s.encode()
        with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
            f.write(s)


def national_code(body):
    s = sum(int(c) * w for c, w in zip(body, range(10, 1, -1))) % 11
    return body + str(s if s < 2 else 11 - s)


def persian(s):
    return "".join(chr(0x06F0 + int(c)) if c.isdigit() else c for c in s)


def sheba(bban):
    check = 98 - int(bban + "1827" + "00") % 97
    return f"IR{check:02}{bban}"


codes = [national_code("049937089"), national_code("001234567"), national_code("999000111")]
write("national_code", [codes[0], persian(codes[1]), f"{codes[2][:3]}-{codes[2][3:9]}-{codes[2][9]}", " 0000000000 "])
write("mobile", ["09121234567", "+989351234567", "00989011234567", persian("0912 123 4567"), "(0912) 123-4567", "+98 (0) 992 123 4567", "9221234567"])
write("postal_code", ["1345765345", "13457-65345", persian("19919-43411"), "1111111111"])
s = sheba("0540102680020817909002")
assert s == "IR820540102680020817909002"
write("sheba", [s, " ".join(s[i:i + 4] for i in range(0, 26, 4)), s.lower(), persian(sheba("0170000000100000000001"))])

week = ";".join(["07:30-14:30"] * 5 + ["08:00-12:00", "closed"])
write("codes", [b"\x00" + b"11000001", b"\x00" + persian("11000002").encode(), b"\x01PSP-001", b"\x01sr-" + persian("12").encode(),
                b"\x02nocr", b"\x03social_security", b"\x03in_progress", b"\x04" + week.encode(), b"\x0408:00-24:00"])
write("jalali", [b"\x001405-09-07", b"\x00" + persian("1403/12/30").encode(), b"\x00 1/1/1 ", b"\x001700-12-29",
                 b"\x01" + bytes(range(12)), b"\x01\xff\xff\xff\x7f\x00\x00\x00\x00\x00\x00\x00\x80"])
write("text", ["علي", "می\u200cخواهم", "محمد علی", "كتاب\u0640\u064e", "Pishkhan  ۱۲۳ ٤٥٦", "\u200f\ufeffأحمد\u00a0رضا", "name\twith\ttabs\u202e"])

office_header = "code,name_fa,name_en,province,city_fa,city_en,address_fa,address_en,postal_code,phone,lat,lon,licence_no,licence_issued,status,counters,hours"
office_rows = [
    f'11000001,دفتر ۱,Office 1,1,تهران,Tehran,"خیابان آزادی، پلاک ۱","1 Azadi St",13457-65345,021-88776655,35.7,51.4,KH-10,1400/01/15,active,4,"{week}"',
    "11000002,دفتر ۲,Office 2,8,اصفهان,Isfahan,چهارباغ,Chaharbagh,8134993711,03132221111,32.65,51.67,KH-11,,warned,2,",
]
service_header = "code,title_fa,title_en,agency,category,required_documents,required_inquiries,avg_handling_minutes,channel,digitization"
service_rows = [
    "PSP-001,صدور گذرنامه,Passport issue,police,travel,شناسنامه|Birth certificate;کارت ملی|National card,civil-registry.person,20,counter,networked",
    "SR-002,المثنی,Duplicate ID,nocr,identity,,,15,both,in_progress",
]
write("import_csv", [b"\x00" + "\n".join([office_header] + office_rows).encode(), b"\x01" + "\n".join([service_header] + service_rows).encode(),
                     b"\x00" + f"{office_header}\n".encode()])
office_json = [dict(zip(office_header.split(","), ["11000001", "دفتر ۱", "Office 1", 1, "تهران", "Tehran", "خیابان آزادی", "Azadi St", "1345765345",
                                                   "021-88776655", 35.7, 51.4, "KH-10", "1400-01-15", "active", 4, week]))]
service_json = [{"code": "PSP-001", "title_fa": "گذرنامه", "title_en": "Passport", "agency": "police", "category": "travel",
                 "required_documents": [{"fa": "شناسنامه", "en": "Birth certificate"}], "required_inquiries": ["civil-registry.person"],
                 "avg_handling_minutes": 20, "channel": "counter", "digitization": "networked"},
                {"code": "SR-002", "title_fa": "المثنی", "title_en": "Duplicate", "agency": "nocr", "category": "identity",
                 "required_documents": "کارت|Card;عکس|Photo", "required_inquiries": "a-b.c;civil-registry.person",
                 "avg_handling_minutes": "15", "channel": "both", "digitization": "not_started"}]
write("import_json", [b"\x00" + json.dumps(office_json, ensure_ascii=False).encode(), b"\x01" + json.dumps(service_json, ensure_ascii=False).encode()])

jwk = {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": KID, "alg": "EdDSA", "use": "sig"}
jws_seeds = [b"\x00" + json.dumps({"alg": "EdDSA", "kid": KID}).encode() + b"\x00hello",
             b"\x00" + json.dumps({"alg": "EdDSA", "kid": KID, "typ": "pishkhan-msg+jws", "cty": "json"}).encode() + b'\x00{"a":1}',
             b"\x02" + json.dumps({"keys": [jwk]}).encode(),
             b"\x02" + json.dumps({"kty": "OKP", "crv": "Ed25519", "x": X, "d": b64(SECRET), "kid": KID, "created": NOW}).encode()]
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.from_private_bytes(SECRET)

    def token(header, payload):
        signing_input = b64(json.dumps(header, separators=(",", ":")).encode()) + "." + b64(payload)
        return signing_input + "." + b64(key.sign(signing_input.encode()))

    jws_seeds.append(b"\x01" + token({"alg": "EdDSA", "kid": KID}, b"payload").encode())
    jws_seeds.append(b"\x01" + token({"alg": "EdDSA", "kid": KID, "typ": "pishkhan-config+jws"}, b'{"x":[1,2]}').encode())
except ImportError:
    print("cryptography is missing: no signed JWS seeds")
write("jws", jws_seeds)

nonce = b64(bytes(range(16)))
claims = {"sender": "agency:fuzz", "recipient": "agency:sabt", "method": "POST", "path": "/v1/person",
          "body_sha256": b64(hashlib.sha256(b"{}").digest()), "iat": NOW, "nonce": nonce}
write("signed_message", [b"\x00\x01" + bytes(range(64)), b"\x00" + bytes(range(255, 0, -3)), b"\x01" + json.dumps(claims).encode(),
                         b"\x01" + json.dumps(dict(claims, request_nonce=nonce, status=200)).encode()])

person_req = {"type": "object", "additionalProperties": False, "required": ["national_code"],
              "properties": {"national_code": {"type": "string", "minLength": 10, "maxLength": 10}}}
person_resp = {"type": "object", "properties": {"alive": {"type": "boolean"}, "name": {"type": "string"},
                                                "age": {"type": "integer", "minimum": 0, "maximum": 150},
                                                "sex": {"type": "string", "enum": ["f", "m"]}}}
directory = {
    "version": 3, "issued_at": NOW, "expires_at": NOW + 10_000_000,
    "config": {
        "members": [
            {"id": "agency:sabt", "kind": "agency", "name_fa": "ثبت احوال", "name_en": "Civil registry", "status": "active",
             "base_url": "http://127.0.0.1:8081", "keys": [{"jwk": jwk, "status": "active"}]},
            {"id": "exchange:central", "kind": "exchange", "name_fa": "مرکز", "name_en": "Central", "keys": []},
            {"id": "office:11000001", "kind": "office", "name_fa": "دفتر", "name_en": "Office", "status": "suspended"},
        ],
        "services": [
            {"id": "civil-registry.person", "agency": "agency:sabt", "path": "/v1/person", "idempotent": True,
             "request_schema": person_req, "response_schema": person_resp, "keep_bodies": False, "yes_no": False,
             "subject_field": "national_code", "cache_ttl_ms": 60000, "description_fa": "استعلام", "description_en": "Person"},
            {"id": "civil-registry.alive", "agency": "agency:sabt", "path": "/v1/alive", "idempotent": False,
             "request_schema": person_req, "response_schema": {"type": "object", "required": ["alive"], "properties": {"alive": {"type": "boolean"}}},
             "keep_bodies": True, "yes_no": True, "description_fa": "زنده", "description_en": "Alive"},
        ],
        "rights": [
            {"service": "civil-registry.person", "client": "all_active_offices", "allowed_attributes": ["alive", "name"], "required_by": ["PSP-001", "SR001"]},
            {"service": "civil-registry.person", "client": {"member": "office:11000001"}, "allowed_attributes": ["age"], "required_by": []},
        ],
        "limits": {"agency_timeout_ms": 3000, "retry_budget_ratio": 0.1, "max_retries": 2, "circuit_failures": 5, "circuit_cooldown_ms": 10000},
    },
}
small = json.loads(json.dumps(directory))
small["config"]["rights"] = []
small["config"]["services"] = small["config"]["services"][1:]
write("directory", [json.dumps(directory, ensure_ascii=False), json.dumps(small, ensure_ascii=False, indent=1)])

purpose = {"legal_basis": "ماده ۳ قانون ثبت احوال", "service_code": "PSP-001", "case_id": "C-1", "operator": "staff:ali"}
write("exchange_wire", [b"\x00agency:sabt", b"\x00office:11000001", b"\x00exchange:central", b"\x01civil-registry.person",
                        b"\x02" + b64(json.dumps(purpose, ensure_ascii=False, separators=(",", ":")).encode()).encode(),
                        b"\x02" + b64(json.dumps(dict(purpose, service_code=" psp-۰۰۱ "), ensure_ascii=False).encode()).encode()])
