/*
  exir built-in rules: artefacts specific to Exchange exploitation (ProxyLogon OAB exports,
  ProxyShell mailbox-export shells, compiled App_Web shells, script planted in web.config).
*/

rule EXIR_Exchange_OAB_ExternalUrl_Script
{
    meta:
        id = "EXIR-EX-001"
        title = "OAB virtual directory export with server script in a URL field"
        severity = "critical"
        description = "A file written by Set-OabVirtualDirectory/Set-EcpVirtualDirectory export (ProxyLogon CVE-2021-27065 chain): the ExternalUrl/InternalUrl property carries a <script runat=server> or <% %> block, so the exported file is a working web shell."
        attack = "T1505.003, T1190"
        references = "https://www.microsoft.com/en-us/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Custom settings pages with an ExternalUrl/InternalUrl field whose value is an inline expression on the same line (e.g. <input id='ExternalUrl' value='<%= Settings.ExternalUrl %>'>); incident notes, advisories or detection rules that quote a ProxyLogon ExternalUrl payload."
        capability = "persistence"
        request_input = "not required"
    strings:
        $url_script = /(External|Internal)(Url|HostName|AuthenticationMethods)\s*[:=]?[^\r\n]{0,300}<\s*script[^>]{0,200}runat\s*=\s*\W?server/ nocase
        $url_tag = /(External|Internal)(Url|HostName)\s*[:=]?[^\r\n]{0,300}<%/ nocase
        $url_script2 = /(External|Internal)Url\s*[:=]?[^\r\n]{0,300}<\s*script[^>]{0,100}language\s*=\s*\W?(jscript|c#|vb|javascript|csharp)/ nocase
    condition:
        filesize < 10MB and any of them
}

rule EXIR_Exchange_ProxyShell_PST_Shell
{
    meta:
        id = "EXIR-EX-002"
        title = "Mailbox export (PST) containing server script (ProxyShell)"
        severity = "critical"
        description = "A file that starts with the PST header !BDN and carries server-side script: the ProxyShell technique (New-MailboxExportRequest writing a crafted mailbox item as .aspx into a web folder). A PST has no business under a web root."
        attack = "T1505.003, T1190"
        references = "https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell"
        author = "exir developers"
        status = "stable"
        falsepositives = "None known: a PST does not carry server-script markup; a mailbox export (e.g. of a security team's mailbox) holding mail that quotes web-shell code could match."
        capability = "persistence"
        request_input = "not required"
    strings:
        $script1 = /<\s*script[^>]{0,200}runat/ nocase
        $script2 = /<%[^%]{0,500}(eval|execute|request|process|assembly)/ nocase
        $script3 = /<%@\s*(Page|WebHandler)/ nocase
    condition:
        uint32(0) == 0x4E444221 and any of them
}

rule EXIR_Exchange_Compiled_Shell_Assembly
{
    meta:
        id = "EXIR-EX-003"
        title = "Compiled ASP.NET page (App_Web_*.dll) with web-shell behaviour"
        severity = "critical"
        description = "A .NET assembly compiled from an ASP.NET page (App_Web_* assemblies, ASP.*_aspx page classes, as found in 'Temporary ASP.NET Files' or dropped into bin/) whose code evaluates request data with the JScript engine, loads bytes read from the request body as an assembly, or starts cmd.exe/PowerShell from the request. Compiled China Chopper pages of the ProxyLogon waves look like this."
        attack = "T1505.003"
        references = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Compiled pages of in-house admin tools that start cmd.exe/PowerShell with request input or load plug-in assemblies from posted bytes; legacy JScript.NET pages that use eval with the 'unsafe' flag on trusted text."
        capability = "code-eval"
        request_input = "required"
    strings:
        // a compiled page: the App_Web_ assembly name or a generated page class (ASP.name_aspx)
        $page1 = "App_Web_" ascii wide
        $page2 = /[A-Za-z0-9_]{1,80}_(aspx|ashx|asmx)\x00/
        $get_request = "get_Request" ascii
        $jse = "JScriptEvaluate" ascii
        $unsafe = "unsafe" wide
        $load = "Load" ascii fullword
        $createinst = "CreateInstance" ascii
        $binread = "BinaryRead" ascii
        $psi = "ProcessStartInfo" ascii
        $cmd1 = "cmd.exe" wide nocase
        $cmd2 = "powershell" wide nocase
    condition:
        uint16(0) == 0x5A4D and filesize < 20MB and any of ($page*) and (
            ($jse and $unsafe) or
            ($get_request and $load and $createinst and $binread) or
            ($get_request and $psi and any of ($cmd*))
        )
}

rule EXIR_WebConfig_Script_Or_Handler_Abuse
{
    meta:
        id = "EXIR-EX-004"
        title = "web.config carrying server script or mapping config files to a script engine"
        severity = "critical"
        description = "A web.config that contains classic ASP/ASP.NET server script, or re-maps *.config to asp.dll/an ASP.NET handler and unhides web.config so the file itself runs as a page: a web shell living in configuration."
        attack = "T1505.003, T1505.004"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "None known: Exchange and ordinary applications never map *.config to a script engine or put server script in web.config; a web.config whose comments hold an unescaped code sample with <% ... Request/Response.Write would match."
        capability = "persistence"
        request_input = "not required"
    strings:
        $cfg = "<configuration" nocase
        $script = /<%[^>]{0,2000}(request|execute|eval|CreateObject|Response\.Write)/ nocase
        $handler = /<add[^>]{1,300}path\s*=\s*"\*\.config"[^>]{0,300}(asp\.dll|aspnet_isapi|PageHandlerFactory)/ nocase
        $unhide1 = /<remove\s+segment\s*=\s*"web\.config"/ nocase
        $unhide2 = /<remove\s+fileExtension\s*=\s*"\.config"/ nocase
    condition:
        filesize < 5MB and $cfg and ($script or ($handler and any of ($unhide*)))
}
