/*
  exir built-in rules: server-side evaluation of attacker-supplied code.
  Written by the exir team on behaviours (what the page does with request data), not on
  sample strings: a China Chopper variant with a new password, comment padding or smart quotes
  still evaluates the request, and that is what these rules look for.
*/

rule EXIR_WebShell_JScript_Eval_Request
{
    meta:
        id = "EXIR-WS-001"
        title = "JScript.NET page evaluates request data (China Chopper style)"
        severity = "critical"
        description = "An ASP.NET page or handler written in JScript calls eval() on request data, or with the JScript 'unsafe' flag. This is the China Chopper one-liner and its many respellings; legitimate pages do not evaluate request text as server code."
        attack = "T1505.003"
        references = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
        author = "exir developers"
        status = "stable"
        falsepositives = "Legacy JScript.NET pages that call eval() on trusted text (e.g. JSON parsing) and also read request values elsewhere."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        // Language=JScript/JS/JavaScript in a directive or a server script block; \W{0,3} tolerates smart quotes.
        $lang_directive = /<%@[^>]{0,200}Language\s*=\s*\W{0,3}(jscript|javascript|js)\W/ nocase
        $lang_script1 = /<script[^>]{0,100}language\s*=\s*\W{0,3}(jscript|javascript)\W[^>]{0,100}runat\s*=\s*\W{0,3}server/ nocase
        $lang_script2 = /<script[^>]{0,100}runat\s*=\s*\W{0,3}server\W[^>]{0,100}language\s*=\s*\W{0,3}(jscript|javascript)/ nocase
        $lang_xslt = /msxsl:script[^>]{0,100}language\s*=\s*\W{0,6}(jscript|javascript)/ nocase
        $eval = /\beval\s*\(/ nocase
        // request data: Request.Item[..], Request["x"], Request.Form(..), Request[0-2-5] ...
        $req = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params|Cookies|Headers)\s*)?[\[\(]/ nocase
        // the JScript eval 'unsafe' flag (hex escapes and split spellings are undone by the normalisation pass)
        $unsafe1 = /eval\s*\([^;]{1,200}["'\x80-\xff]\s*unsafe/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($lang*) and $eval and any of ($req, $unsafe*)
}

rule EXIR_WebShell_JScript_Handler_Eval
{
    meta:
        id = "EXIR-WS-002"
        title = "JScript.NET handler or service evaluates its input"
        severity = "critical"
        description = "A handler (.ashx), web service (.asmx) or WCF service (.svc) written in JScript calls eval(). These file types carry no client-side script, so any eval() runs on the server on caller-supplied text."
        attack = "T1505.003"
        references = "https://learn.microsoft.com/en-us/previous-versions/visualstudio/visual-studio-2010/b51a45x6(v=vs.100)"
        author = "exir developers"
        status = "stable"
        falsepositives = "Legacy JScript.NET handlers or web services that use eval() to parse JSON or evaluate expressions from trusted sources."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $dir = /<%@\s*(WebHandler|WebService|ServiceHost)[^>]{0,200}Language\s*=\s*\W{0,3}(jscript|javascript|js)\W/ nocase
        $eval = /\beval\s*\(\s*[A-Za-z_]/
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $dir and $eval
}

rule EXIR_WebShell_Eval_Request_Direct
{
    meta:
        id = "EXIR-WS-003"
        title = "Server code evaluates request data directly"
        severity = "critical"
        description = "eval/Execute/ExecuteGlobal applied directly to Request or Session data (any language: classic ASP VBScript/JScript, JScript.NET). The one-line web shell pattern, e.g. <%eval request(\"x\")%> or Execute(Request(\"x\"))."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "None known: no legitimate page runs Request or Session text through eval/Execute/ExecuteGlobal; only stored web-shell samples (researchers, scanner test files) match."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $direct = /(^|[^.\w])(eval|execute|executeglobal)\s*\(?\s*(request|session)\s*(\(|\[|\.\s*(item|form|querystring|params|cookies|headers)\b)/ nocase
        $jse = /JScriptEvaluate\s*\([^;]{0,200}Request/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($direct, $jse)
}

rule EXIR_WebShell_ASP_Execute_Request_Variable
{
    meta:
        id = "EXIR-WS-004"
        title = "Classic ASP executes code taken from the request"
        severity = "critical"
        description = "A classic ASP page stores request data in a variable (or the session) and runs it with the VBScript Execute/ExecuteGlobal/Eval statement: a two-step one-line web shell."
        attack = "T1505.003"
        references = "https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/scripting-articles/03t418d2(v=vs.84)"
        author = "exir developers"
        status = "stable"
        falsepositives = "Classic ASP pages that read a request value into a variable and call a parameterless helper Sub whose name starts with Execute/Eval on its own line (e.g. 'ExecuteSearch')."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $from_request = /[\r\n:;\s%]\w{1,40}\s*=\s*(trim\s*\(\s*)?(request|session)\s*(\.\s*(form|querystring|item|cookies)\s*)?\(/ nocase
        // the VBScript statement alone (not obj.Execute, not a method declaration)
        $execute = /(\n|:|<%|%>|\bthen)[ \t]*(execute|executeglobal|eval)[ \t]*\(?[ \t]*[A-Za-z_]\w{0,40}[ \t]*\)?[ \t]*(\r|\n|:|%>|')/ nocase
        $aspnet = /<%@\s*(Page|Control|WebHandler|WebService|Master)\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $from_request and $execute and not $aspnet
}

rule EXIR_WebShell_ASP_Execute_Decoded
{
    meta:
        id = "EXIR-WS-005"
        title = "Classic ASP executes decoded or computed code"
        severity = "high"
        description = "A classic ASP page passes the result of a function call (a decoder, Chr() chain, string reversal) to VBScript Execute/ExecuteGlobal. Packed and encrypted ASP web shells unpack themselves this way; ordinary ASP pages never build code at run time."
        attack = "T1505.003, T1027"
        references = "https://attack.mitre.org/techniques/T1027/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Classic ASP pages that call their own helper whose name starts with Execute as a statement, e.g. ExecuteSQL('UPDATE ...') on its own line (read as Execute + function call)."
        capability = "code-eval"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        // the decoder's argument is text the page carries or receives (a literal, request/session data, a character
        // code), not a file the application reads from its own disk (an include mechanism)
        $exec_call = /(\n|:|<%|\bthen|\belse)[ \t]*(execute|executeglobal)[ \t]*\(?[ \t]*[A-Za-z_]\w{0,40}[ \t]*\([ \t]*([A-Za-z_]\w{0,40}[ \t]*\([ \t]*)?("|request\b|session\b|chrw?\b)/ nocase
        // a decoder applied to a variable: only in a small page whose business is running it (frameworks that execute
        // their own include files are large)
        $exec_call_var = /(\n|:|<%|\bthen|\belse)[ \t]*(execute|executeglobal)[ \t]*\(?[ \t]*[A-Za-z_]\w{0,40}[ \t]*\([ \t]*[A-Za-z_]\w{0,40}[ \t]*\)/ nocase
        $exec_chr = /(execute|executeglobal)\s*\(?\s*chrw?\s*\(/ nocase
        $aspnet = /<%@\s*(Page|Control|WebHandler|WebService|Master)\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and (any of ($exec_call, $exec_chr) or ($exec_call_var and filesize < 16KB)) and not $aspnet
}

rule EXIR_WebShell_Script_Encoded
{
    meta:
        id = "EXIR-WS-006"
        title = "Script-encoded (VBScript.Encode/JScript.Encode) server page"
        severity = "high"
        description = "A server page whose code is hidden with the Windows Script Encoder. Encoded server script hides what the page does from review; in Exchange and IIS web folders it is a sign of a concealed web shell."
        attack = "T1027, T1505.003"
        references = "https://attack.mitre.org/techniques/T1027/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Old commercial or in-house classic ASP applications whose vendor encoded the source with the Windows Script Encoder (screnc.exe) to protect it."
        capability = "concealment"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $lang = /Language\s*=\s*\W{0,3}(VBScript|JScript)\.Encode/ nocase
        $block = /#@~\^[A-Za-z0-9+\/]{6}==/
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 10MB and ($lang or #block > 1)
}


rule EXIR_WebShell_ASP_Execute_Computed_Code
{
    meta:
        id = "EXIR-WS-016"
        title = "Classic ASP executes code it assembled at run time"
        severity = "high"
        description = "A classic ASP page runs a variable or expression with the VBScript Execute/ExecuteGlobal/Eval statement, and the page assembles that code at run time: from string literals that hold code words (eval, execute, request), or by reversing, splitting, joining, replacing or XOR-decoding text. One-line shells hidden behind string games and encrypted ASP shells (Godzilla ASP) run their payload this way."
        attack = "T1505.003, T1059.005, T1027"
        references = "https://attack.mitre.org/techniques/T1027/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Classic ASP template engines that build VBScript from text and run it with Execute (their code literals rarely hold request or eval)."
        capability = "code-eval"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        // the VBScript statement on a variable, a lookup or an expression (not a literal, not obj.Execute)
        $exec_var = /(\n|:|<%|\bthen|\belse)[ \t]*(execute|executeglobal|eval)[ \t]*(\([ \t]*)?[A-Za-z_][\w.]{0,60}(\([^\r\n"]{0,40}"[^"\r\n]{1,40}"\))?[ \t]*(\)|&|\r|\n|:|%>|')/ nocase
        // code words inside string literals (after the normalisation pass has joined the pieces)
        $code_literal = /"[^"\r\n]{0,80}\b(eval|execute|request)\b[^"\r\n]{0,80}"/ nocase
        $built1 = /\b(StrReverse|Join|Split)\s*\(/ nocase
        $built2 = /\bXor\b/ nocase
        // request bytes XOR-decrypted with a repeating key, kept in the session and executed (Godzilla's ASP payload)
        $xor_key = /Xor\s+AscW?B?\s*\(\s*MidW?B?\s*\(/ nocase
        $exec_any = /(\n|:|<%|\bthen|\belse)[ \t]*(execute|executeglobal)[ \t]*\([ \t]*[A-Za-z_]/ nocase
        $session = /\bsession\s*\(/ nocase
        $aspnet = /<%@\s*(Page|Control|WebHandler|WebService|Master)\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and (($exec_var and ($code_literal or all of ($built*) or ($built1 and #built1 > 1))) or ($xor_key and $exec_any and $session)) and not $aspnet
}

rule EXIR_WebShell_Script_Engine_Runs_Request
{
    meta:
        id = "EXIR-WS-008"
        title = "Server script hands request data to a script engine object"
        severity = "critical"
        description = "A page creates a script engine (MSScriptControl.ScriptControl) and feeds it code with AddCode/ExecuteStatement/Eval/Run, with request data in the page: the caller chooses the code the engine runs."
        attack = "T1505.003, T1059.005"
        references = "https://attack.mitre.org/techniques/T1059/005/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Legacy pages that evaluate administrator-written formulas with the Script Control."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $engine = /ScriptControl/ nocase
        $feed = /\.\s*(AddCode|ExecuteStatement|Eval|Run|AddObject)\b/ nocase
        $req = /\brequest\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $engine and $feed and $req
}

rule EXIR_WebShell_Eval_Aliased
{
    meta:
        id = "EXIR-WS-009"
        title = "Server script stores eval as a value and calls it on request data"
        severity = "critical"
        description = "Server-side JScript keeps the eval function in an object field or variable (eval written as a value, not called) in a page that reads the request: a way to call eval on request data without the text eval(Request...)."
        attack = "T1505.003, T1059.007, T1027"
        references = "https://attack.mitre.org/techniques/T1027/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "None expected in server-side code."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $alias = /[:=,\[]\s*eval\s*[,;}\]]/ nocase
        $in_req = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params|Cookies)\s*)?[\[\(]/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $alias and $in_req
}

rule EXIR_WebShell_ASP_UTF7_Codepage
{
    meta:
        id = "EXIR-WS-015"
        title = "Classic ASP page declares the UTF-7 code page"
        severity = "high"
        description = "A classic ASP page sets CODEPAGE=65000 (UTF-7), so its code can be written as +...- sequences that neither people nor byte signatures read. Web applications do not use UTF-7."
        attack = "T1505.003, T1027"
        references = "https://attack.mitre.org/techniques/T1027/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "None expected."
        capability = "concealment"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $cp = /<%@[^%]{0,100}codepage\s*=\s*\W?65000/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $cp
}
