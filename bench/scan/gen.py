#!/usr/bin/env python3
"""Generates a synthetic Exchange log collection for benchmarking `exir scan`.

    python3 bench/scan/gen.py --gb 2 --out /tmp/exir-bench/collection

Layout like a mounted system drive: hourly HttpProxy logs per protocol folder (Autodiscover, Ecp, Ews,
Mapi, Owa, Eas, PowerShell), daily IIS W3C logs for the front-end (W3SVC1) and back-end (W3SVC2) sites,
daily ECP server logs. Lines come from a pool of realistic requests (many users, clients and URLs)
rendered once, so generation runs at disk speed; timestamps carry the file's day and hour.

Known attacks are inserted at recorded places; the manifest `expected.tsv` (outside the collection)
lists artifact, line and rule id, and run.sh checks that exir reports every one of them.
Never written inside the repository: the data is large and regenerated on demand.
"""
import argparse
import os
import random

V15 = "Program Files/Microsoft/Exchange Server/V15"
HP_FIELDS = ("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,"
             "ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,"
             "ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,"
             "BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,"
             "HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,"
             "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,"
             "TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,"
             "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,"
             "KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,"
             "RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,"
             "EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus").split(",")
IIS_FIELDS = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
HOUR = "2099-12-31T23"      # placeholder replaced per file (same length as the real value)
IISHOUR = "2099-12-31 23"

rnd = random.Random(42)
USERS = [f"user{i:04}" for i in range(3000)]
UAS = ["Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36",
       "Apple-iPhone12C1/1803.144", "Outlook-iOS/723.4027091.prod.iphone (4.2105.0)", "Microsoft WinRM Client",
       "AMProbe/Local/ClientAccess", "Mozilla/5.0 (Macintosh; Intel Mac OS X 11_2_1) AppleWebKit/605.1.15 Safari/605.1.15"]
PROTOCOLS = {
    "Owa": ["/owa/service.svc", "/owa/", "/owa/ev.owa2", "/owa/auth.owa", "/owa/prem/15.1.2176.2/resources/images/0/sprite1.mouse.png"],
    "Ews": ["/EWS/Exchange.asmx"], "Mapi": ["/mapi/emsmdb/", "/mapi/nspi/"], "Eas": ["/Microsoft-Server-ActiveSync/default.eas"],
    "Autodiscover": ["/autodiscover/autodiscover.xml", "/autodiscover/autodiscover.json/v1.0/{u}@contoso.com"],
    "Ecp": ["/ecp/", "/ecp/DDI/DDIService.svc/GetList", "/ecp/PersonalSettings/HomePage.aspx"], "PowerShell": ["/powershell"],
}


IIS_WEIGHTS = {"Owa": 30, "Ews": 20, "Mapi": 25, "Eas": 15, "Autodiscover": 7, "Ecp": 2, "PowerShell": 1}


def rid():
    return "%08x-%04x-%04x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(16), rnd.getrandbits(48))


def csv(v):
    return '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v) else v


def hp_line(protocol, values):
    return ",".join(csv(values.get(f, "")) for f in HP_FIELDS)


def hp_pool(protocol, n):
    lines = []
    for _ in range(n):
        u = rnd.choice(USERS)
        stem = rnd.choice(PROTOCOLS[protocol]).format(u=u)
        q = {"Owa": f"?action=GetFolder&EP=1&ID=-{rnd.randint(10, 99)}&AC=1", "Eas": f"?Cmd=Sync&User={u}&DeviceId={rnd.getrandbits(40):x}&DeviceType=iPhone",
             "Mapi": f"?MailboxId={rid()}@contoso.com", "PowerShell": "?serializationLevel=Full;clientApplication=ManagementShell;PSVersion=5.1",
             "Ecp": f"?schema=VirtualDirectory&msExchEcpCanary={rid()}", "Autodiscover": "?Protocol=ActiveSync&RedirectCount=1"}.get(protocol, "")
        t = f"{HOUR}:{rnd.randint(0, 59):02}:{rnd.randint(0, 59):02}.{rnd.randint(0, 999):03}Z"
        lines.append(hp_line(protocol, {
            "DateTime": t, "RequestId": rid(), "MajorVersion": "15", "MinorVersion": "1", "BuildVersion": "2176", "RevisionVersion": "2",
            "Protocol": protocol, "UrlHost": "mail.contoso.com", "UrlStem": stem, "AuthenticationType": "Negotiate", "IsAuthenticated": "true",
            "AuthenticatedUser": f"CONTOSO\\{u}", "AnchorMailbox": rnd.choice([f"SMTP:{u}@contoso.com", f"Sid~S-1-5-21-100433-11772-68200-{rnd.randint(1000, 9000)}", f"MailboxGuid~{rid()}"]),
            "UserAgent": rnd.choice(UAS), "ClientIpAddress": f"10.{rnd.randint(0, 3)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",
            "ServerHostName": "EXCH01", "HttpStatus": rnd.choice(["200"] * 12 + ["302", "401", "440"]), "BackEndStatus": "200",
            "Method": rnd.choice(["POST", "POST", "GET"]), "ProxyAction": "Proxy", "TargetServer": "EXCH02.contoso.local",
            "TargetServerVersion": "15.01.2176.000", "RoutingType": "IntraForest", "RoutingHint": rnd.choice(["", "DatabaseGuidToDatabase", "AnchorMailboxHeader-SMTP"]),
            "BackEndCookie": rnd.choice(["", f"Database~{rid()}~~2021-03-04T05:00:00"]),
            "RequestBytes": str(rnd.randint(100, 9000)), "ResponseBytes": str(rnd.randint(100, 90000)), "ProxyTime": str(rnd.randint(1, 300)),
            "TotalRequestTime": str(rnd.randint(2, 900)), "UrlQuery": q,
            "GenericInfo": f"BeginRequest={t};CorrelationID=<empty>;ProxyState-Run=None;FEAuth=BEVersion-1942062522;ProxyState-Complete=ProxyResponseData;SharedCacheGuard=0;EndRequest={t};",
            "RoutingStatus": "CafeV1"}))
    return lines


def iis_pool(n, backend):
    lines = []
    for _ in range(n):
        u = rnd.choice(USERS)
        # Front-end traffic is mostly Outlook, OWA and phones; ECP and PowerShell are a small share.
        proto = rnd.choices(list(IIS_WEIGHTS), weights=list(IIS_WEIGHTS.values()))[0]
        stem = rnd.choice(PROTOCOLS[proto]).format(u=u)
        q = rnd.choices(["-", "action=FindItem&EP=1&AC=1", f"Cmd=Ping&User={u}&DeviceId=A{rnd.getrandbits(32):x}",
                         "url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", f"Email={u}%40contoso.com"], weights=[50, 25, 20, 3, 2])[0]
        ua = rnd.choice(UAS).replace(" ", "+")
        ip = "127.0.0.1" if backend else f"10.{rnd.randint(0, 3)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
        lines.append(f"{IISHOUR}:{rnd.randint(0, 59):02}:{rnd.randint(0, 59):02} 10.0.0.5 {rnd.choice(['GET', 'POST', 'POST'])} {stem} {q} "
                     f"{444 if backend else 443} CONTOSO\\{u} {ip} {ua} - {rnd.choice(['200'] * 10 + ['302', '401'])} 0 0 {rnd.randint(1, 2000)}")
    return lines


def ecp_pool(n):
    return [f"{HOUR}:{rnd.randint(0, 59):02}:{rnd.randint(0, 59):02}.{rnd.randint(0, 999):03}Z,EXCH01,ECP.Request,"
            f"S:TIME={rnd.randint(5, 300)};S:SID={rid()};S:CMD=Get-{rnd.choice(['Mailbox', 'InboxRule', 'OwaVirtualDirectory', 'User'])};S:REQID=;"
            f"S:URL=/ecp/DDI/DDIService.svc/GetList?schema=x;S:REFERRER=;S:EX=;S:ACTID={rid()};S:RS=0;S:BLD=15.1.2176.2" for _ in range(n)]


ATTACKS = {
    "Ecp": [("LOG-HTTPPROXY-SSRF", lambda t: hp_line("Ecp", {"DateTime": t, "Protocol": "Ecp", "UrlStem": "/ecp/y.js", "AnchorMailbox": "ServerInfo~a]@EXCH01.contoso.local:444/ecp/proxyLogon.ecp#~1941962753", "ClientIpAddress": "203.0.113.77", "HttpStatus": "241", "Method": "POST"})),
            ("LOG-HTTPPROXY-SSRF", lambda t: hp_line("Ecp", {"DateTime": t, "Protocol": "Ecp", "UrlStem": "/ecp/x.js", "BackEndCookie": "Server~EXCH01.contoso.local/ews/exchange.asmx?a=~1942062522", "ClientIpAddress": "203.0.113.78", "HttpStatus": "200", "Method": "POST"})),
            ("LOG-HTTPPROXY-VDIR-RESET", lambda t: hp_line("Ecp", {"DateTime": t, "Protocol": "Ecp", "UrlStem": "/ecp/y.js", "AnchorMailbox": "ServerInfo~a]@EXCH01:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=x&a=~1942062522/autodiscover", "ClientIpAddress": "203.0.113.77", "HttpStatus": "200", "Method": "POST"}))],
    "Autodiscover": [("LOG-WEB-PROXYSHELL", lambda t: hp_line("Autodiscover", {"DateTime": t, "Protocol": "Autodiscover", "UrlStem": "/autodiscover/autodiscover.json", "UrlQuery": "?@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp", "ClientIpAddress": "198.51.100.200", "HttpStatus": "200"})),
                     ("LOG-WEB-PROXYNOTSHELL", lambda t: hp_line("Autodiscover", {"DateTime": t, "Protocol": "Autodiscover", "UrlStem": "/autodiscover/autodiscover.json", "UrlQuery": "?@evil.corp/owa/&Email=autodiscover/autodiscover.json%3F@evil.corp&Protocol=XYZ&FooProtocol=%2550owershell", "ClientIpAddress": "198.51.100.201", "AuthenticatedUser": "bob@contoso.com", "HttpStatus": "401"}))],
    "IIS": [("LOG-IIS-UNEXPECTED-SCRIPT", lambda t: f"{t} 10.0.0.5 POST /aspnet_client/discover.aspx - 443 - 203.0.113.77 antSword/v2.1 - 200 0 0 31"),
            ("LOG-WEB-OWASSRF", lambda t: f"{t} 10.0.0.5 POST /owa/mastermailbox%40outlook.com/powershell clientApplication=x 443 CONTOSO\\bob 203.0.113.90 Mozilla/5.0 - 200 0 0 80")],
    "ECP": [("LOG-ECP-VDIR-PAYLOAD", lambda t: t.replace(" ", "T") + ".500Z,EXCH01,ECP.Request," + csv("S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"x\"],\"unsafe\");}</script>';S:EX="))],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0, help="approximate size of the collection in GB")
    ap.add_argument("--out", required=True, help="collection folder (created); the manifest is written beside it")
    ap.add_argument("--pool", type=float, default=1.0, help="share of the request pools per block (small collections for tests: 0.05)")
    ap.add_argument("--attack-every", type=int, default=5, help="one planted attack line every N blocks of a log family")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    target = int(args.gb * 1e9)
    size = lambda n: max(1, int(n * args.pool))
    pools = {p: "\r\n".join(hp_pool(p, size(4000 if p in ("Owa", "Ews", "Mapi", "Eas") else 1500))).encode() + b"\r\n" for p in PROTOCOLS}
    weights = {"Owa": 5, "Ews": 4, "Mapi": 5, "Eas": 3, "Autodiscover": 2, "Ecp": 1, "PowerShell": 1}
    iis_front = "\r\n".join(iis_pool(size(20000), False)).encode() + b"\r\n"
    iis_back = "\r\n".join(iis_pool(size(20000), True)).encode() + b"\r\n"
    ecp_block = "\r\n".join(ecp_pool(size(2000))).encode() + b"\r\n"
    hp_header = (f"#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n"
                 f"#Date: {HOUR}:00:00.000Z\r\n#Fields: {','.join(HP_FIELDS)}\r\n").encode()
    iis_header = f"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {IISHOUR}:00:00\r\n#Fields: {IIS_FIELDS}\r\n".encode()
    ecp_header = f"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n#Date: {HOUR}:00:00.000Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n".encode()
    manifest = []
    written = 0
    hour_index = 0
    counters = {}
    files = {}  # path -> open handle with line counts

    def emit(rel, header, block, repeat, hour_iso, hour_w3c, attack_family):
        nonlocal written
        path = os.path.join(out, *rel.split("/"))
        new = path not in files
        if new:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            files[path] = [open(path, "wb"), 0]
        fh = files[path]
        if new:
            fh[0].write(header.replace(HOUR.encode(), hour_iso.encode()).replace(IISHOUR.encode(), hour_w3c.encode()))
            fh[1] += header.count(b"\n")
        data = block.replace(HOUR.encode(), hour_iso.encode()).replace(IISHOUR.encode(), hour_w3c.encode())
        n = block.count(b"\n")
        for r in range(repeat):
            fh[0].write(data)
            fh[1] += n
            written += len(data)
            # One attack line every few blocks, at a recorded line.
            k = counters[attack_family] = counters.get(attack_family, 0) + 1
            if attack_family in ATTACKS and k % args.attack_every == 0:
                rule, make = ATTACKS[attack_family][k // args.attack_every % len(ATTACKS[attack_family])]
                t = f"{hour_iso}:30:00.000Z" if attack_family != "IIS" else f"{hour_w3c}:30:00"
                if attack_family == "ECP": t = f"{hour_w3c}:30:00"
                line = make(t).encode() + b"\r\n"
                fh[0].write(line)
                fh[1] += 1
                written += len(line)
                manifest.append((os.path.relpath(path, out).replace(os.sep, "/"), fh[1], rule))

    while written < target:
        day, hour = divmod(hour_index, 24)
        date = f"2021-{1 + day // 28:02}-{1 + day % 28:02}"
        hour_iso, hour_w3c = f"{date}T{hour:02}", f"{date} {hour:02}"
        stamp = date.replace("-", "")
        for p, w in weights.items():
            emit(f"{V15}/Logging/HttpProxy/{p}/HttpProxy_{stamp}{hour:02}-1.LOG", hp_header, pools[p], w, hour_iso, hour_w3c, p)
            files.pop(os.path.join(out, *f"{V15}/Logging/HttpProxy/{p}/HttpProxy_{stamp}{hour:02}-1.LOG".split("/")))[0].close()
        emit(f"inetpub/logs/LogFiles/W3SVC1/u_ex{stamp[2:]}.log", iis_header, iis_front, 3, hour_iso, hour_w3c, "IIS")
        emit(f"inetpub/logs/LogFiles/W3SVC2/u_ex{stamp[2:]}.log", iis_header, iis_back, 2, hour_iso, hour_w3c, "IIS-back")
        emit(f"{V15}/Logging/ECP/Server/ECPServer{stamp}-1.LOG", ecp_header, ecp_block, 1, hour_iso, hour_w3c, "ECP")
        if hour == 23:
            for path in [k for k in files]:
                files.pop(path)[0].close()
        hour_index += 1
    for fh, _ in files.values():
        fh.close()
    with open(out.rstrip("/") + ".expected.tsv", "w") as m:
        for rel, line, rule in manifest:
            m.write(f"{rel}\t{line}\t{rule}\n")
    print(f"{written / 1e9:.2f} GB in {out}; {len(manifest)} known attack lines listed in {out.rstrip('/')}.expected.tsv")


if __name__ == "__main__":
    main()
