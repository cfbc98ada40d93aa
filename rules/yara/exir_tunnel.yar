/*
  exir built-in rules: HTTP-to-TCP tunnels and reconnaissance pages (reGeorg, Neo-reGeorg,
  registry sweepers, file managers).
*/

rule EXIR_WebShell_Socket_Tunnel
{
    meta:
        id = "EXIR-WS-040"
        title = "Page tunnels TCP connections through HTTP (reGeorg-style)"
        severity = "critical"
        description = "A page opens TCP sockets to hosts named in the request, keeps them in Session/Application state between requests and relays the request body to them: a SOCKS-over-HTTP pivot such as reGeorg or Neo-reGeorg."
        attack = "T1090.001, T1572, T1505.003"
        references = "https://attack.mitre.org/techniques/T1572/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Web-based SSH/RDP/telnet gateways or HTTP-to-TCP bridges installed on purpose that keep sockets in Session or Application state."
        capability = "tunnel"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $sock1 = /new\s+(System\.Net\.Sockets\.)?(Socket|TcpClient)\s*\(/ nocase
        $sock2 = /\(\s*(System\.Net\.Sockets\.)?Socket\s*\)\s*(Session|Application|Context\.Session)\s*\[/ nocase
        $keep = /(Session|Application)\s*(\.\s*Add\s*\(|\[)/ nocase
        $io1 = /\.\s*(Connect|BeginConnect)\s*\(/ nocase
        $io2 = /\.\s*(Send|Receive|Write|Read)\s*\(/ nocase
        // tunnel control travels in headers or the raw body, not in form fields
        $ctl = /\bRequest\s*\.\s*(Headers|InputStream|BinaryRead)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($sock*) and $io1 and $io2 and ($sock2 or ($keep and $ctl))
}

rule EXIR_WebShell_Neo_reGeorg_Blv
{
    meta:
        id = "EXIR-WS-041"
        title = "Neo-reGeorg style tunnel (encoded request relayed to sockets or URLs)"
        severity = "critical"
        description = "A page decodes Base64 request bodies (Neo-reGeorg swaps the Base64 alphabet) and relays them to TCP sockets or to other URLs (WebRequest.Create): the Neo-reGeorg tunnel server in its ASP.NET form."
        attack = "T1090.001, T1572, T1505.003"
        references = "https://attack.mitre.org/techniques/T1572/"
        author = "exir developers"
        status = "stable"
        falsepositives = "None known outside tunnelling tools: decoding a Base64 request body, keeping Session/Application state and talking to raw sockets is a relay by construction; deliberate web-to-TCP gateways would match."
        capability = "tunnel"
        request_input = "required"
        family_specific = "neo-regeorg"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b64 = "FromBase64String" nocase
        $body = /Request\s*\.\s*(InputStream|BinaryRead)/ nocase
        $sock = /(System\.Net\.Sockets|new\s+Socket\s*\(|TcpClient)/ nocase
        $relay = /WebRequest\s*\.\s*Create\s*\(/ nocase
        $state = /(Session|Application)\s*(\.\s*Add\s*\(|\[)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $b64 and $body and $sock and $state and ($relay or #sock > 1)
}

rule EXIR_WebShell_Registry_Sweep
{
    meta:
        id = "EXIR-WS-042"
        title = "Page sweeps every registry hive"
        severity = "high"
        description = "Server code walks several registry root hives (HKLM, HKU, HKCR, HKCC) reading value names: reconnaissance for paths and credentials from a web shell. Web applications do not enumerate whole hives."
        attack = "T1012, T1505.003"
        references = "https://attack.mitre.org/techniques/T1012/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Server-inventory or registry-viewer pages in admin toolkits that enumerate three or more root hives on purpose."
        capability = "recon"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $h1 = "Registry.LocalMachine" nocase
        $h2 = "Registry.Users" nocase
        $h3 = "Registry.ClassesRoot" nocase
        $h4 = "Registry.CurrentConfig" nocase
        $h5 = "Registry.CurrentUser" nocase
        $enum = /(GetValueNames|GetSubKeyNames)\s*\(/ nocase
        $page = /(<%|runat\s*=\s*\W?server|IHttpHandler)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $page and 3 of ($h*) and $enum
}

rule EXIR_WebShell_File_Manager
{
    meta:
        id = "EXIR-WS-043"
        title = "Page browses all drives and manipulates files for the caller"
        severity = "high"
        description = "Server code lists the machine's logical drives and lets the caller browse, delete, move, upload or download arbitrary files: a file-manager web shell (ASPXSpy, China Chopper server side, and many generic ones)."
        attack = "T1083, T1505.003"
        references = "https://attack.mitre.org/techniques/T1083/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Log viewers or disk-space pages that list the drives and let users list and download (TransmitFile) files from a fixed folder; web file managers of CMS or hosting panels installed on purpose."
        capability = "file-manager"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $drives1 = "GetLogicalDrives" nocase
        $drives2 = "DriveInfo.GetDrives" nocase
        $drives3 = /\bIn\s+\w+\s*\.\s*Drives\b/ nocase
        $op1 = /(File|Directory)\s*\.\s*(Delete|Move|Copy)\s*\(/ nocase
        $op2 = /\.SaveAs\s*\(/ nocase
        $op3 = /(TransmitFile|WriteFile|BinaryWrite)\s*\(/ nocase
        $op4 = /\.(GetFiles|GetDirectories)\s*\(/ nocase
        $op5 = /(SetCreationTime|SetLastWriteTime|SetAttributes)\s*\(/ nocase
        $op6 = /\.\s*(DeleteFile|DeleteFolder|MoveFile|CopyFile|MoveFolder|CopyFolder)\b/ nocase
        $op7 = /\.\s*(OpenTextFile|CreateTextFile|SaveToFile)\b/ nocase
        $in = /(\bRequest\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\[\(]|\.Text\b)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 10MB and any of ($drives*) and 2 of ($op*) and $in
}

rule EXIR_WebShell_Multi_Capability
{
    meta:
        id = "EXIR-WS-044"
        title = "Page combines many post-exploitation capabilities"
        severity = "high"
        description = "One server page holds four or more unrelated intrusion capabilities (process execution, drive listing, registry, raw database access with client-chosen connection strings, sockets, service control, IIS/AD directory access, file timestamp forging). Kitchen-sink web shells such as ASPXSpy look like this; business pages do not."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Server status dashboards and admin toolkits that put service status, drive space, WMI queries and a registry read (four capabilities) on one page."
        capability = "multi"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $proc = /(ProcessStartInfo|Process\s*\.\s*Start\s*\(|WScript\.Shell)/ nocase
        $drives = /(GetLogicalDrives|DriveInfo\s*\.\s*GetDrives)/ nocase
        $reg = /(Registry\s*\.\s*LocalMachine|OpenRemoteBaseKey|HKEY_LOCAL_MACHINE)/ nocase
        $sock = /(new\s+(System\.Net\.Sockets\.)?(Socket|TcpClient)\s*\(|Sockets\.TcpClient)/ nocase
        $svc = /(ServiceController|Win32_Service)/ nocase
        $dir = /(new\s+DirectoryEntry\s*\(|IIS:\/\/|WinNT:\/\/)/ nocase
        $time = /(SetCreationTime|SetLastWriteTime|SetLastAccessTime)\s*\(/ nocase
        $sqlconn = /(Sql|OleDb|Odbc)Connection\s*\(\s*[^")\s]/ nocase
        $wmi = /(ManagementObjectSearcher|ManagementClass)\s*\(/ nocase
        $priv = /(LogonUser|DuplicateToken|WindowsIdentity\s*\.\s*Impersonate)/ nocase
        $page = /(<%|runat\s*=\s*\W?server|IHttpHandler)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 10MB and $page and 4 of ($proc, $drives, $reg, $sock, $svc, $dir, $time, $sqlconn, $wmi, $priv)
}

rule EXIR_WebShell_SQL_Client
{
    meta:
        id = "EXIR-WS-045"
        title = "Page runs client-supplied SQL on a client-chosen database"
        severity = "high"
        description = "A page opens a database connection whose connection string comes from the request or a form field and executes SQL text from the caller: a database client web shell used to dump or alter data (and often to reach xp_cmdshell)."
        attack = "T1505.003, T1213"
        references = "https://attack.mitre.org/techniques/T1213/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Database admin consoles and setup wizards installed on purpose that take a connection string from a form and run SQL or install scripts."
        capability = "db-client"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        // any ADO.NET provider; the connection string typed by the caller, read from the request, or assembled from
        // variables (server=..., uid=..., pwd=...) in a page with input fields
        $conn1 = /(Sql|OleDb|Odbc|MySql|Oracle|Npgsql|SQLite)Connection\s*\(\s*((this\s*\.\s*)?\w+\s*\.\s*Text|(HttpContext\s*\.\s*Current\s*\.\s*)?Request)/ nocase
        $conn2 = /ConnectionString\s*=\s*[^;\r\n]{0,200}(\.Text\b|Request\s*[\[\(.])/ nocase
        $conn3 = /"[^"\r\n]{0,60}\b(server|data source|uid|user id|pwd|password)\s*=\s*"\s*[+&]\s*[A-Za-z_]/ nocase
        // request values read into variables, and both the connection and the command built from variables
        $conn_var = /(Sql|OleDb|Odbc|MySql|Oracle|Npgsql|SQLite)Connection\s*\(\s*[A-Za-z_]\w*\s*\)/ nocase
        $cmd_var = /(Sql|OleDb|Odbc|MySql|Oracle|Npgsql|SQLite)(Command|DataAdapter)\s*\(\s*[A-Za-z_]\w*\s*,/ nocase
        $req_var = /\b(string|var)\s+\w+\s*=\s*(HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(\.\s*(QueryString|Form|Params|Item)\s*)?[\[\(]/ nocase
        $input = /(\.Text\b|\bRequest\s*(\.\s*(QueryString|Form|Params|Item)\s*)?[\[\(])/ nocase
        // classic ASP/ADO: the connection string typed by the caller, kept in the session
        $conn4 = /\.open\s*\(?\s*request\s*\(/ nocase
        $conn5 = /\.open\s*\(?\s*session\s*\(/ nocase
        $sess_from_req = /session\s*\(\s*"[^"]{1,40}"\s*\)\s*=\s*request\s*\(/ nocase
        $cmd1 = /(Sql|OleDb|Odbc|MySql|Oracle|Npgsql|SQLite)(Command|DataAdapter)\s*\(/ nocase
        $cmd2 = /\.(ExecuteReader|ExecuteNonQuery|Fill)\s*\(/ nocase
        $cmd3 = /\.execute\s*\(?\s*(request\s*\(|\w+)/ nocase
        $ado = "ADODB.Connection" nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 10MB and (
            ((any of ($conn1, $conn2) or ($conn3 and $input)) and any of ($cmd1, $cmd2)) or
            ($conn_var and $cmd_var and #req_var > 1) or
            ($ado and $cmd3 and ($conn4 or ($conn5 and $sess_from_req)))
        )
}

rule EXIR_WebShell_HTTP_Relay
{
    meta:
        id = "EXIR-WS-046"
        title = "Server page relays HTTP requests to a URL chosen by the caller"
        severity = "medium"
        description = "Server script fetches a URL taken from the query string or form with a server-side HTTP client (XMLHTTP, WinHttp, WebClient, WebRequest) and returns the body: an open proxy used to reach internal hosts from the web server (SSRF pivot)."
        attack = "T1090, T1505.003"
        references = "https://attack.mitre.org/techniques/T1090/"
        author = "exir developers"
        status = "test"
        falsepositives = "Image or feed proxies, CORS helpers and link-preview pages that fetch a URL given in the query string (common in CMS and portal software)."
        capability = "tunnel"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $client1 = /(MSXML2\.(Server)?XMLHTTP|Microsoft\.XMLHTTP|WinHttp\.WinHttpRequest)/ nocase
        $client2 = /(new\s+WebClient\s*\(|WebRequest\s*\.\s*Create\s*\()/ nocase
        // the target is a variable (not a fixed address) in a page that reads the request
        $url_var = /\.\s*Open\s*\(?\s*"(GET|POST|HEAD)"\s*,\s*[A-Za-z_]\w*\s*[,)]/ nocase
        $in_req = /\bRequest\s*(\.\s*(QueryString|Form|Item)\s*)?[\[\(]/ nocase
        $url_req2 = /\.(Open|DownloadString|DownloadData)\s*\([^)]{0,40}Request\s*(\.\s*(QueryString|Form|Item)\s*)?[\[\(]/ nocase
        $back = /(ResponseBody|ResponseText|BinaryWrite|GetResponseStream)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($client*) and ($url_req2 or ($url_var and $in_req)) and $back
}

rule EXIR_WebShell_NET_Memory_Resident_Hook
{
    meta:
        id = "EXIR-WS-047"
        title = "Page installs code into the running web application (memory shell)"
        severity = "critical"
        description = "A page registers new request handling inside the live application: a VirtualPathProvider that serves pages no file holds, routes or MVC filters added at run time, an HttpListener prefix, or a module/handler injected through reflection. The shell then lives in memory and survives deletion of the page."
        attack = "T1505.003, T1505.004"
        references = "https://attack.mitre.org/techniques/T1505/004/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Application start-up code (Global.asax, App_Start) that registers routes or a path provider: these live in Application_Start, not in a page."
        capability = "persistence"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $vpp = /RegisterVirtualPathProvider\s*\(/ nocase
        $route = /RouteTable\s*\.\s*Routes\s*\.\s*(Add|Insert|MapRoute|MapPageRoute)\s*\(/ nocase
        $filter = /GlobalFilters\s*\.\s*Filters\s*\.\s*Add\s*\(/ nocase
        $listener = /HttpListener\s*\(\s*\)/ nocase
        $prefix = /Prefixes\s*\.\s*Add\s*\(/ nocase
        $page = /<%@\s*(Page|WebHandler|WebService)\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $page and ($vpp or $route or $filter or ($listener and $prefix))
}

rule EXIR_WebShell_HTTP_Forward_Proxy
{
    meta:
        id = "EXIR-WS-048"
        title = "Page forwards the request body to another URL and returns the answer"
        severity = "high"
        description = "A page copies its own request body (InputStream, BinaryRead, Form) into an outgoing HTTP request whose target is not a fixed address, and writes the answer back: an HTTP forwarder that lets a tunnel client (pystinger, reGeorg-style HTTP transports) reach internal hosts."
        attack = "T1505.003, T1090"
        references = "https://attack.mitre.org/techniques/T1090/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Reverse-proxy or API gateway pages that forward requests on purpose."
        capability = "tunnel"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $client = /(WebRequest\s*\.\s*Create\s*\(\s*[A-Za-z_]|new\s+WebClient\s*\(|MSXML2\.ServerXMLHTTP|WinHttp\.WinHttpRequest)/ nocase
        $body_in = /\bRequest\s*\.\s*(InputStream|BinaryRead|TotalBytes)/ nocase
        $body_out = /(GetRequestStream\s*\(|UploadData\s*\(|\.send\s*\(?\s*\w)/ nocase
        $back = /(GetResponseStream\s*\(|ResponseBody|Response\s*\.\s*BinaryWrite)/ nocase
        $back2 = /Response\s*\.\s*Write\s*\(/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $client and $body_in and $body_out and ($back and ($back2 or $back))
}

rule EXIR_WebShell_Credential_Store_Access
{
    meta:
        id = "EXIR-WS-049"
        title = "Server code dumps LSASS or copies the SAM/SECURITY hives"
        severity = "critical"
        description = "A page dumps the LSASS process (MiniDumpWriteDump, comsvcs.dll MiniDump, procdump) or saves the SAM, SECURITY or SYSTEM registry hives, or reads browser credential stores (Login Data, DPAPI CryptUnprotectData): credential theft from the web server."
        attack = "T1505.003, T1003.001, T1003.002, T1555.003"
        references = "https://attack.mitre.org/techniques/T1003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "None expected in web pages; backup tools that save registry hives run as services, not as pages."
        capability = "credential-access"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $lsass1 = /MiniDumpWriteDump/
        $lsass2 = /comsvcs(\.dll)?["',\s]{1,6}[^\r\n]{0,40}MiniDump/ nocase
        $lsass3 = /procdump(64)?(\.exe)?[^\r\n]{0,60}lsass/ nocase
        $hive = /reg(\.exe)?["'\s]{1,4}save\s+["']?(hklm|hkey_local_machine)\\(sam|security|system)\b/ nocase
        $browser1 = /(Login Data|logins\.json|key4\.db)/
        $browser2 = /CryptUnprotectData|ProtectedData\s*\.\s*Unprotect/
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($lsass*) or $hive or ($browser1 and $browser2)
}

rule EXIR_WebShell_Raw_Socket_Capture
{
    meta:
        id = "EXIR-WS-050"
        title = "Server code opens a raw socket to capture traffic"
        severity = "high"
        description = "A page creates a raw IP socket and switches it to receive-all mode (SIO_RCVALL / IOControlCode.ReceiveAll), or loads a packet-capture library: a sniffer for credentials and traffic that passes the server."
        attack = "T1505.003, T1040"
        references = "https://attack.mitre.org/techniques/T1040/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Network diagnostics pages on lab machines."
        capability = "capture"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $raw = /SocketType\s*\.\s*Raw/ nocase
        $all1 = /IOControlCode\s*\.\s*ReceiveAll/ nocase
        $all2 = /SIO_RCVALL|0x98000001/ nocase
        $pcap = /(wpcap|npcap|SharpPcap|PacketDotNet)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and ($raw and any of ($all*)) or $pcap
}
