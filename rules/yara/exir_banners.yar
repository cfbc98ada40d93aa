/*
  exir built-in rules: banners of public web shells and tunnels (titles, greetings, names their own code carries).
  Data, not behaviour: a renamed copy loses them, so they are graded medium (an indicator) and each is marked
  family_specific, so the leave-one-family-out bench (bench/webshells/run.py) measures the behaviour rules without them.
  They still report a page that is only a tool's interface.
*/

rule EXIR_WebShell_Banner_AspxSpy
{
    meta:
        id = "EXIR-WB-001"
        title = "ASPXSpy web shell interface"
        severity = "medium"
        description = "Server-side code carries the ASPXSpy name (page title, cookie or control names): a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "aspxspy"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = "ASPXSpy" nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}

rule EXIR_WebShell_Banner_Antak
{
    meta:
        id = "EXIR-WB-002"
        title = "Antak (Nishang) PowerShell web shell interface"
        severity = "medium"
        description = "Server-side code carries the Antak banner of the Nishang framework: a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "antak"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = "Antak Webshell" nocase
        $b2 = "Antak - A Webshell" nocase
        $b3 = "Antak is a part of Nishang" nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}

rule EXIR_WebShell_Banner_reGeorg
{
    meta:
        id = "EXIR-WB-003"
        title = "reGeorg / Neo-reGeorg tunnel greeting"
        severity = "medium"
        description = "Server-side code carries the greeting \"Georg says, 'All seems fine'\" that the tunnel client checks for: a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "regeorg, neo-regeorg"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = "Georg says, 'All seems fine'"
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}

rule EXIR_WebShell_Banner_Tunna
{
    meta:
        id = "EXIR-WB-004"
        title = "Tunna HTTP tunnel page"
        severity = "medium"
        description = "Server-side code carries the Tunna webshell banner: a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "tunna"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = /Tunna (ASPX webshell )?v\d/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}

rule EXIR_WebShell_Banner_ABPTTS
{
    meta:
        id = "EXIR-WB-005"
        title = "ABPTTS (A Black Path Toward The Sun) tunnel page"
        severity = "medium"
        description = "Server-side code carries the ABPTTS name used in its server-side component: a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "abptts"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = "ABPTTS"
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}

rule EXIR_WebShell_Banner_SharPyShell
{
    meta:
        id = "EXIR-WB-006"
        title = "SharPyShell agent page"
        severity = "medium"
        description = "Server-side code carries the SharPyShell name or its template placeholders: a public attack tool's page. Its behaviour rules say what it can do; this one names the tool."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Security training material or detection test pages that quote the tool's banner."
        capability = "banner"
        request_input = "not required"
        family_specific = "sharpyshell"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $b1 = "SharPyShell"
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($b*)
}
