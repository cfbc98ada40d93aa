#!/usr/bin/env python3
"""Writes a server's C: drive with what Microsoft's Test-ProxyLogon.ps1 reads, for bench/tpl/run.sh.

    python3 bench/tpl/gen.py --mb 200 --out /tmp/exir-bench/tpl/tree/C

- Program Files/.../V15/Logging/HttpProxy/<protocol>/HttpProxy_<hour>-1.LOG: hourly logs of every protocol the
  script lists (Autodiscover, Eas, Ecp, Ews, Mapi, Oab, Owa, OwaCalendar, PowerShell, RpcHttp) from the request
  pools of bench/scan/gen.py, each beginning with the bare CSV header line real Exchange writes (the script's
  Import-Csv reads its column names from the first line);
- some of them with planted lines: CVE-2021-26855 anchors (`ServerInfo~.../...`, reported by the script),
  virtual directory resets through the SSRF in Ecp (CVE-2021-27065), shapes the script lets pass (localhost, an
  anchor naming /autodiscover) and back-end cookies (which only exir reads). A file with `ServerInfo~` is parsed
  whole by the script's Import-Csv, the others only searched: the share of such files sets its speed;
- Logging/ECP/Server: daily logs, a few with a Set-*VirtualDirectory URL holding script;
- Logging/OABGeneratorLog: daily logs, a few with a download written outside the OAB folder (CVE-2021-26858);
- lsass dumps in C:\\root and Windows\\Temp, archives among ordinary files below ProgramData.

Deterministic (seeded). Never written inside the repository.
"""
import argparse
import importlib.util
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scangen", os.path.join(here, "..", "scan", "gen.py"))
scangen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scangen)
V15, HP_FIELDS, HOUR, hp_line, hp_pool, rid = scangen.V15, scangen.HP_FIELDS, scangen.HOUR, scangen.hp_line, scangen.hp_pool, scangen.rid

# The protocols bench/scan does not write: their request shapes, so hp_pool can render them.
scangen.PROTOCOLS.update({"Oab": ["/OAB/{u}/oab.xml", "/OAB/4f1a2b3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c/oab.xml"],
                          "RpcHttp": ["/rpc/rpcproxy.dll"], "OwaCalendar": ["/owa/calendar/{u}@contoso.com/calendar.html"]})
WEIGHTS = {"Owa": 5, "Ews": 4, "Mapi": 5, "Eas": 3, "Autodiscover": 2, "Ecp": 1, "PowerShell": 1, "Oab": 1, "RpcHttp": 1, "OwaCalendar": 1}

rnd = random.Random(7)


def attack_line(protocol, t):
    """A planted HttpProxy line with its own RequestId (the check finds the script's rows by it)."""
    host = rnd.choice(["a]@EXCH01.contoso.local:444", "EXCH01.contoso.local", "x]@10.0.0.9:444", "EXCH01"])
    prefix = rnd.choice(["ServerInfo~", "ServerInfo~", "serverinfo~"])
    row = {"DateTime": t, "RequestId": rid(), "Protocol": protocol, "UrlHost": "mail.contoso.com", "ServerHostName": "EXCH01",
           "ClientIpAddress": rnd.choice(["203.0.113.77", "198.51.100.23", "45.77.1.9"]), "Method": "POST",
           "UserAgent": rnd.choice(["ExchangeServicesClient/0.0.0.0", "python-requests/2.25.1", "curl/7.68.0"]),
           "UrlStem": rnd.choice(["/ecp/y.js", "/ecp/x.js", "/owa/auth/x.js", "/ecp/default.flt"]),
           "HttpStatus": rnd.choice(["200", "241", "500", "200"])}
    kind = rnd.randrange(10)
    if kind < 5:
        row["AnchorMailbox"] = prefix + host + rnd.choice(["/ecp/proxyLogon.ecp?#~1941962753", "/ews/exchange.asmx?a=~1942062522",
                                                           "/mapi/emsmdb?MailboxId=f26bc5f3-2f9c-4bbb-8d7a-5e1b7c0e8a2d@contoso.com&a=~1942062522"])
    elif kind < 7 and protocol == "Ecp":
        schema = rnd.choice(["ResetOABVirtualDirectory", "ResetOWAVirtualDirectory"])
        row["AnchorMailbox"] = f"{prefix}{host}/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=x&schema={schema}#"
        row["HttpStatus"] = "200"
    elif kind < 9:
        row["AnchorMailbox"] = rnd.choice(["ServerInfo~localhost/ecp/default.flt?~1942062522", f"{prefix}{host}/autodiscover/autodiscover.xml?#"])
    else:
        row["BackEndCookie"] = f"Server~{host}/ecp/target.js~1942062522"
    return hp_line(protocol, row)


def ecp_server_lines(day, n, malicious):
    out = []
    for i in range(n):
        t = f"{day}T{i * 24 // n:02}:{rnd.randrange(60):02}:{rnd.randrange(60):02}.{rnd.randrange(1000):03}Z"
        cmd = rnd.choice(["Get-Mailbox", "Get-InboxRule", "Get-OwaVirtualDirectory", "Set-OwaVirtualDirectory.ExternalUrl='https://mail.contoso.com/owa'"])
        url = "/ecp/DDI/DDIService.svc/GetList?schema=x"
        if malicious and i == n // 2:
            cmd = "Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=\"\"JScript\"\" runat=\"\"server\"\">function Page_Load(){eval(Request[\"\"x\"\"],\"\"unsafe\"\");}</script>'.Identity='x'"
            url = "/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=x"
        data = f"S:TIME={rnd.randint(5, 300)};S:SID={rid()};S:CMD={cmd};S:REQID=;S:URL={url};S:REFERRER=;S:EX=;S:ACTID={rid()};S:RS=0;S:BLD=15.1.2176.2"
        out.append(f"{t},EXCH01,ECP.Request,\"{data}\"" if '""' in data else f"{t},EXCH01,ECP.Request,{data}")
    return out


def oab_lines(day, n, malicious):
    out = []
    for i in range(n):
        t = f"{day}T{i * 24 // n:02}:{rnd.randrange(60):02}:{rnd.randrange(60):02}.{rnd.randrange(1000):03}Z"
        msg = rnd.choice([r"OABGeneratorAssistant: generation of \Default Offline Address Book completed.",
                          rf"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\{rid()}.tmp' needs to be removed."])
        if malicious and i == n // 3:
            msg = rf"Download failed and temporary file 'C:\inetpub\wwwroot\aspnet_client\{rid()[:8]}.aspx' needs to be removed."
        out.append(f"{t},{rnd.randint(10, 90)},Info,contoso.local,\\Default Offline Address Book,{msg}")
    return out


def write_log(path, header_csv, log_type, fields_line, lines, date):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    head = (f"{header_csv}\r\n#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: {log_type}\r\n"
            f"#Date: {date}T00:00:00.000Z\r\n#Fields: {fields_line}\r\n")
    with open(path, "wb") as f:
        f.write(head.encode())
        f.write(lines if isinstance(lines, bytes) else ("\r\n".join(lines) + "\r\n").encode())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=200, help="approximate size of the HttpProxy logs in MB")
    ap.add_argument("--out", required=True, help="the C: drive folder (created)")
    ap.add_argument("--attack-every", type=int, default=12, help="one file in N of each protocol gets planted lines")
    args = ap.parse_args()
    root = os.path.abspath(args.out)
    fields = ",".join(HP_FIELDS)
    pools = {p: "\r\n".join(hp_pool(p, 200 if w > 1 else 120)) for p, w in WEIGHTS.items()}
    written, hour_index, planted_files = 0, 0, 0
    days = []
    while written < args.mb * 1e6:
        day, hour = divmod(hour_index, 24)
        date = f"2021-03-{1 + day:02}"
        if hour == 0: days.append(date)
        for i, (p, w) in enumerate(WEIGHTS.items()):
            body = "\r\n".join([pools[p]] * w).replace(HOUR, f"{date}T{hour:02}").split("\r\n")
            if (hour_index + i) % args.attack_every == 0:
                for _ in range(1 + rnd.randrange(3)):
                    at = rnd.randrange(len(body))
                    body.insert(at, attack_line(p, f"{date}T{hour:02}:{rnd.randrange(60):02}:{rnd.randrange(60):02}.{rnd.randrange(1000):03}Z"))
                planted_files += 1
            data = ("\r\n".join(body) + "\r\n").encode()
            write_log(os.path.join(root, *f"{V15}/Logging/HttpProxy/{p}/HttpProxy_{date.replace('-', '')}{hour:02}-1.LOG".split("/")),
                      fields, "HttpProxy Logs", fields, data, date)
            written += len(data)
        hour_index += 1
    for k, date in enumerate(days):
        stamp = date.replace("-", "")
        write_log(os.path.join(root, *f"{V15}/Logging/ECP/Server/ECPServer{stamp}00-1.LOG".split("/")), "TimeStamp,ServerName,EventId,EventData",
                  "ECP Server Log", "TimeStamp,ServerName,EventId,EventData", ecp_server_lines(date, 400, k % 3 == 1), date)
        oab_fields = "Timestamp,ThreadId,Level,Organization,OabName,Message"
        write_log(os.path.join(root, *f"{V15}/Logging/OABGeneratorLog/OABGeneratorLog_{stamp}-1.LOG".split("/")), oab_fields,
                  "OABGenerator Log", oab_fields, oab_lines(date, 60, k % 3 == 2), date)
    dump = bytes.fromhex("4d444d5093a7000007000000200000000000000000000000000000000000000000")  # minidump header
    for rel, content in [("root/lsass.dmp", dump), ("Windows/Temp/lsass.exe_4120.dmp", dump), ("Windows/Temp/x/lsass.zip.dmp", b"")]:
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        open(os.path.join(root, rel), "wb").write(content)
    # ProgramData: ordinary files (the script lists them all) and a few archives.
    for i in range(600):
        rel = f"ProgramData/Microsoft/Windows/WER/{i % 20}/report{i}.wer" if i % 3 else f"ProgramData/App{i % 7}/cache/{i}.dat"
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        open(os.path.join(root, rel), "wb").write(b"Version=1\r\nEventType=APPCRASH\r\n" * (1 + i % 5))
    for rel, content in [("ProgramData/ntds.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64)), ("ProgramData/mail_export.zip", b"PK\x05\x06" + bytes(18)),
                         ("ProgramData/VSSAdmin/Logs/update.rar", b"Rar!\x1a\x07\x01\x00" + bytes(16))]:
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        open(os.path.join(root, rel), "wb").write(content)
    print(f"{written / 1e6:.0f} MB of HttpProxy logs ({hour_index} hours x {len(WEIGHTS)} protocols, {planted_files} files with planted lines), "
          f"{len(days)} days of ECP server and OAB logs in {root}")


if __name__ == "__main__":
    main()
