/*
  exir built-in rules: web pages that start processes or shell objects for the caller.
*/

rule EXIR_WebShell_NET_Process_Shell
{
    meta:
        id = "EXIR-WS-010"
        title = "ASP.NET code starts a command shell"
        severity = "critical"
        description = "Server-side .NET code starts cmd.exe or PowerShell, or runs a process whose command line comes from the request or a form field and returns its output. Web pages of Exchange and ordinary web applications do not spawn shells."
        attack = "T1505.003, T1059.001, T1059.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Admin or diagnostic pages that start cmd.exe/PowerShell for a fixed maintenance task (e.g. 'cmd /c iisreset /status'); pages that run a fixed tool with redirected output and show it in a control, because any '.Text' (lblOutput.Text = p.StandardOutput.ReadToEnd()) counts as caller input; developer test pages left on the server."
        capability = "command-exec"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $p1 = /Process\s*\.\s*Start\s*\(/ nocase
        $p2 = /new\s+(System\.Diagnostics\.)?Process\s*\(\s*\)/ nocase
        $p3 = /New\s+(System\.Diagnostics\.)?Process(StartInfo)?\s*\(/ nocase
        $p4 = /ProcessStartInfo/
        $p5 = /\.StartInfo\s*\.\s*(FileName|Arguments)/ nocase
        // the shell itself (split spellings such as "cm"+"d.exe" are joined by the normalisation pass)
        $sh1 = /["'](cmd|cmd\.exe|powershell|powershell\.exe|pwsh|pwsh\.exe)["']/ nocase
        $sh2 = /["'][^"'\r\n]{0,40}\\(cmd|powershell)\.exe["']/ nocase
        $sh5 = /["']\/c ?["']\s*\+/ nocase
        $sh6 = /["']\/c\s+\w/ nocase
        // the caller supplies the command and reads the output
        $in1 = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)\s*)?[\[\(]/ nocase
        $in2 = /\.Text\b/ nocase
        $in3 = /FromBase64String\s*\(\s*(HttpContext\.Current\.)?Request/ nocase
        $out = /RedirectStandard(Output|Input)/ nocase
        // request or form text handed straight to the process (blind execution, no output read back)
        $direct1 = /Process\s*\.\s*Start\s*\(\s*((this\s*\.\s*)?\w+\s*\.\s*Text\b|(HttpContext\s*\.\s*Current\s*\.\s*|context\s*\.\s*)?Request\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)\s*)?[\[\(])/ nocase
        $direct2 = /ProcessStartInfo\s*\(\s*((this\s*\.\s*)?\w+\s*\.\s*Text\b|(HttpContext\s*\.\s*Current\s*\.\s*|context\s*\.\s*)?Request\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)\s*)?[\[\(])/ nocase
        $direct3 = /\.\s*(FileName|Arguments)\s*=\s*[^;\r\n]{0,80}((HttpContext\s*\.\s*Current\s*\.\s*|context\s*\.\s*)?Request\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)\s*)?[\[\(])/ nocase
        // VB.NET / VBScript Shell() function fed from the request
        $vbshell = /(^|[^.\w])(Interaction\s*\.\s*)?Shell\s*\(\s*[^)\r\n]{0,80}Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\(\[]/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and ((any of ($p*) and (any of ($sh*) or ($out and any of ($in*)) or any of ($direct*))) or $vbshell)
}

rule EXIR_WebShell_Script_Shell_Object
{
    meta:
        id = "EXIR-WS-011"
        title = "Server script runs commands through WScript.Shell or Shell.Application"
        severity = "critical"
        description = "Classic ASP, JScript.NET or an embedded XSLT script creates WScript.Shell / Shell.Application (by name or CLSID) and calls Exec/Run/ShellExecute: the command-execution core of ASP web shells."
        attack = "T1505.003, T1059.005"
        references = "https://attack.mitre.org/techniques/T1059/005/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Legacy classic ASP admin pages that run a fixed maintenance command or batch file through WScript.Shell Run/Exec (e.g. a backup or log-rotation button)."
        capability = "command-exec"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $obj1 = /(CreateObject|ActiveXObject)\s*\(\s*\W{0,2}(wscript\.shell|shell\.application)/ nocase
        $obj2 = "72C24DD5-D70A-438B-8A42-98424B88AFB8" nocase
        $obj3 = "13709620-C279-11CE-A49E-444553540000" nocase
        $call = /\.\s*(exec|run|shellexecute)\s*[\( ]/ nocase
        // request input in the page: a fixed maintenance command (a utility's "cmd /c dir") is not a shell for the caller
        $in1 = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params|Cookies|ServerVariables)\s*)?[\[\(]/ nocase
        $in2 = /\bRequest\s*\.\s*(BinaryRead|InputStream|Form\b|QueryString\b)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($obj*) and $call and any of ($in*)
}

rule EXIR_WebShell_PowerShell_Runspace
{
    meta:
        id = "EXIR-WS-012"
        title = "ASP.NET page hosts a PowerShell runspace for the caller"
        severity = "critical"
        description = "A web page creates a PowerShell runspace/pipeline and feeds it text from the request or a form field (Antak-style web shells)."
        attack = "T1505.003, T1059.001"
        references = "https://attack.mitre.org/techniques/T1059/001/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Admin or self-service pages that run fixed cmdlets in a runspace and show the result in a control (any '.Text', e.g. lblServices.Text = ..., counts as input); PowerShell web consoles installed on purpose by administrators."
        capability = "command-exec"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $ps1 = "RunspaceFactory" nocase
        $ps2 = "System.Management.Automation" nocase
        $ps3 = /PowerShell\s*\.\s*Create\s*\(/ nocase
        $run1 = /\.\s*(CreatePipeline|AddScript|Invoke)\s*\(/
        $in1 = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\[\(]/ nocase
        $in2 = /\.Text\b/
        $page = /(<%@|runat\s*=\s*\W?server)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $page and any of ($ps*) and $run1 and any of ($in*)
}

rule EXIR_WebShell_WMI_Or_SQL_Command_Exec
{
    meta:
        id = "EXIR-WS-013"
        title = "Web page runs OS commands through WMI or SQL Server"
        severity = "high"
        description = "A web page creates processes with WMI Win32_Process.Create or calls xp_cmdshell / sp_oacreate through a database connection: command execution without starting a child of w3wp directly."
        attack = "T1505.003, T1047"
        references = "https://attack.mitre.org/techniques/T1047/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Remote-administration or monitoring pages that start a fixed program through Win32_Process.Create; database admin pages that merely mention xp_cmdshell or sp_OACreate (e.g. a check that they are disabled)."
        capability = "command-exec"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $wmi1 = "Win32_Process" nocase
        $wmi2 = /InvokeMethod\s*\(\s*["']Create["']/ nocase
        $wmi3 = /GetMethodParameters\s*\(\s*["']Create["']/ nocase
        $sql1 = "xp_cmdshell" nocase
        $sql2 = "sp_oacreate" nocase
        $page = /(<%|runat\s*=\s*\W?server)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $page and (($wmi1 and ($wmi2 or $wmi3)) or any of ($sql*))
}

rule EXIR_WebShell_Writes_Or_Downloads_Then_Runs
{
    meta:
        id = "EXIR-WS-014"
        title = "Page writes or downloads a script or program and runs it"
        severity = "high"
        description = "Server code downloads a file (XMLHTTP, WinHttp, WebClient) or writes a script file (.vbs .js .bat .cmd .ps1 .exe), and runs programs through WScript.Shell or Process.Start: a dropper that needs no request input."
        attack = "T1505.003, T1105, T1059"
        references = "https://attack.mitre.org/techniques/T1105/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Installer or update pages that download and start a vendor tool on purpose."
        capability = "command-exec"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $dl = /(MSXML2\.(Server)?XMLHTTP|Microsoft\.XMLHTTP|WinHttp\.WinHttpRequest|DownloadFile\s*\(|DownloadData\s*\()/ nocase
        $write_script = /(CreateTextFile|OpenTextFile|WriteAllText|WriteAllBytes|SaveToFile|StreamWriter)\s*\(?\s*"[^"\r\n]{1,200}\.(vbs|vbe|js|jse|bat|cmd|ps1|exe|dll|hta|wsf)"/ nocase
        $save = /(SaveToFile|WriteAllBytes|DownloadFile)\b/ nocase
        $run1 = /(CreateObject|ActiveXObject)\s*\(\s*\W{0,2}(wscript\.shell|shell\.application)/ nocase
        $run2 = /Process\s*\.\s*Start\s*\(/ nocase
        $call = /\.\s*(exec|run|shellexecute)\s*[\( ]/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and (($dl and $save) or $write_script) and (($run1 and $call) or $run2)
}
