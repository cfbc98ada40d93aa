/*
  exir built-in rules: pages that load or compile code sent by the caller
  (Behinder, Godzilla, SharPyShell, GLASSTOKEN-style loaders and their relatives).
*/

rule EXIR_WebShell_NET_Assembly_Load_From_Request
{
    meta:
        id = "EXIR-WS-020"
        title = "ASP.NET code loads an assembly from request data"
        severity = "critical"
        description = "Assembly.Load (directly or through reflection) of bytes read from the request body, a form field, a cookie or the session, often after Base64/AES/XOR decoding. The in-memory loader behind Behinder, Godzilla, SharPyShell and GLASSTOKEN."
        attack = "T1505.003, T1620"
        references = "https://attack.mitre.org/techniques/T1620/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Plug-in hosts that call Assembly.Load on a fixed name or on bytes from a database while also reading form fields, cookies or the session for unrelated purposes; developer test pages."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $load1 = /Assembly\s*\.\s*Load\s*\(/ nocase
        $load2 = /GetMethod\s*\(\s*["']Load["']/ nocase
        $load3 = /typeof\s*\(\s*(System\.Reflection\.)?Assembly\s*\)/ nocase
        $src1 = /\bRequest\s*\.\s*(BinaryRead|InputStream|Form|Params|Cookies|Item|Files)\b/ nocase
        $src2 = /\bRequest\s*\[/ nocase
        $src3 = /FromBase64String\s*\(/ nocase
        $src4 = /(CreateDecryptor|TransformFinalBlock)/ nocase
        $src5 = /\bSession\s*\[/ nocase
        $use = /(CreateInstance|\.Invoke\s*\(|GetMethod|\.Equals\s*\(|GetType\s*\()/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($load*) and any of ($src*) and $use
}

rule EXIR_WebShell_NET_Dynamic_Compile
{
    meta:
        id = "EXIR-WS-021"
        title = "ASP.NET code compiles and runs source code at run time"
        severity = "critical"
        description = "A page or handler compiles source text in memory (CodeDom CompileAssemblyFromSource, GenerateInMemory) or evaluates it with the JScript engine, with the source coming from the request: a remote code runner (SharPyShell and similar)."
        attack = "T1505.003, T1027.004"
        references = "https://attack.mitre.org/techniques/T1027/004/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Pages that compile fixed or template-generated code with CodeDom (GenerateInMemory) while reading the request for unrelated parameters; online C#/JScript playgrounds hosted on purpose."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $c1 = "CompileAssemblyFromSource" nocase
        $c2 = /GenerateInMemory\s*=\s*true/ nocase
        $c3 = "JScriptEvaluate" nocase
        $c4 = "VsaEngine" nocase
        $src1 = /\bRequest\s*(\.\s*(Item|Form|QueryString|Params|Cookies|Headers|BinaryRead|InputStream)\s*)?[\[\(.]/ nocase
        $src2 = /FromBase64String/ nocase
        $page = /(<%|runat\s*=\s*\W?server|IHttpHandler)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $page and any of ($c*) and any of ($src*)
}

rule EXIR_WebShell_NET_Encrypted_Payload_Loader
{
    meta:
        id = "EXIR-WS-022"
        title = "ASP.NET code decrypts request data and instantiates it"
        severity = "critical"
        description = "AES/Rijndael or XOR decryption of request bytes followed by reflection (CreateInstance/Invoke/Load): an encrypted-channel web shell client stub (Behinder, Godzilla, AntSword-style AES shells)."
        attack = "T1505.003, T1573.001, T1620"
        references = "https://attack.mitre.org/techniques/T1573/001/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Single-sign-on or token pages that AES-decrypt a cookie or form field and also call any delegate or event with .Invoke(...) (e.g. SignedIn?.Invoke(user))."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $dec1 = /(RijndaelManaged|Rijndael\s*\.\s*Create|Aes\s*\.\s*Create|AesManaged|AesCryptoServiceProvider|TripleDES|DESCryptoServiceProvider)/ nocase
        $dec2 = /CreateDecryptor\s*\(/ nocase
        // byte-wise XOR with a repeating key: data[i] ^ key[i % key.Length]
        $xor = /\^\s*\w+\s*\[\s*\w+\s*%\s*\w+\s*\.\s*Length\s*\]/
        $req = /\bRequest\s*(\.\s*(BinaryRead|InputStream|Form|Params|Item|Cookies)|\[)/ nocase
        $refl = /(CreateInstance\s*\(|\.Invoke\s*\(|Assembly\s*\.\s*Load|GetMethod\s*\(\s*["']Load)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and (($dec1 and $dec2) or $xor) and $req and $refl
}

rule EXIR_WebShell_XSLT_Script_Execution
{
    meta:
        id = "EXIR-WS-023"
        title = "ASP.NET page runs an XSLT stylesheet with embedded script"
        severity = "critical"
        description = "A page compiles an XSLT stylesheet with msxsl:script enabled (XsltSettings.TrustedXslt / EnableScript). Web shells hide their eval or WScript.Shell code inside the stylesheet to evade C# signatures."
        attack = "T1505.003, T1220"
        references = "https://attack.mitre.org/techniques/T1220/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Report pages that enable only the document() function with new XsltSettings(true, false) (any XsltSettings(true, ...) is read as trusted); pages that run trusted vendor stylesheets with embedded script on purpose."
        capability = "code-eval"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $x1 = "XslCompiledTransform" nocase
        $x2 = "XslTransform" nocase
        $script = "msxsl:script" nocase
        $trust1 = "TrustedXslt" nocase
        $trust2 = /EnableScript\s*=\s*true/ nocase
        $trust3 = /XsltSettings\s*\(\s*(true|false)\s*,\s*true\s*\)/ nocase
        $trust4 = /XsltSettings\s*\(\s*true\s*,/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($x*) and ($script or any of ($trust*)) and (any of ($trust*) or $x2)
}

rule EXIR_WebShell_Precompiled_Backdoor_Stub
{
    meta:
        id = "EXIR-WS-024"
        title = "Tiny server page that hands a key to a precompiled class"
        severity = "high"
        description = "A very small server-side page whose only code instantiates a non-framework class with a hex key. The backdoor logic lives in a DLL dropped into bin/; the page is its trigger."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "test"
        falsepositives = "Small pages (under 2 KB) that pass a 16-64 digit hex literal to a namespace-qualified constructor: new System.Guid('3f2504e0...') in N format, licence or API keys handed to third-party controls (new Vendor.Charts.LicenseKey('4f2a...'))."
        capability = "code-eval"
        request_input = "not required"
        scan_normalised = "false"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $server = /runat\s*=\s*\W?server/ nocase
        $stub = /new\s+[A-Za-z_]\w*(\.[A-Za-z_]\w*){1,4}\s*\(\s*"[0-9a-fA-F]{16,64}"\s*\)/
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 2KB and $server and $stub
}

rule EXIR_WebShell_NET_Deserialize_Request
{
    meta:
        id = "EXIR-WS-025"
        title = "Page deserializes request data with a type-carrying formatter"
        severity = "high"
        description = "Server code passes request data to BinaryFormatter, LosFormatter, ObjectStateFormatter, SoapFormatter or NetDataContractSerializer. These formatters instantiate any type named in the data, so the page runs gadget chains sent by the caller: a code-execution backdoor that needs no suspicious API in the page itself."
        attack = "T1505.003, T1059"
        references = "https://learn.microsoft.com/en-us/dotnet/standard/serialization/binaryformatter-security-guide"
        author = "exir developers"
        status = "stable"
        falsepositives = "Legacy pages that round-trip their own state through LosFormatter/ObjectStateFormatter from a hidden field (custom view-state handling); these are exploitable anyway unless the data is MAC-protected."
        capability = "code-eval"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $fmt = /(BinaryFormatter|LosFormatter|ObjectStateFormatter|SoapFormatter|NetDataContractSerializer)/
        $deser = /Deserialize\s*\([^;]{0,160}Request\s*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies|InputStream|BinaryRead)|\s*\[)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $fmt and $deser
}

rule EXIR_WebShell_NET_Native_Code_Execution
{
    meta:
        id = "EXIR-WS-026"
        title = "ASP.NET code runs native code through P/Invoke"
        severity = "critical"
        description = "A page declares Win32 imports (DllImport of kernel32/ntdll) to allocate executable memory and start a thread on it (VirtualAlloc, CreateThread, QueueUserAPC, NtCreateThreadEx, a delegate from a function pointer), or to create processes (CreateProcess, WinExec, ShellExecute): shellcode loaders and command execution that no .NET Process call shows."
        attack = "T1505.003, T1055, T1106"
        references = "https://attack.mitre.org/techniques/T1106/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Diagnostic pages that call Win32 APIs for process creation on purpose; none known that allocate executable memory."
        capability = "command-exec"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $import = /DllImport\s*\(\s*"(kernel32|ntdll|shell32)(\.dll)?"/ nocase
        $alloc = /\b(VirtualAlloc|VirtualAllocEx|VirtualProtect|NtAllocateVirtualMemory|HeapCreate)\b/
        $start = /\b(CreateThread|CreateRemoteThread|QueueUserAPC|NtCreateThreadEx|GetDelegateForFunctionPointer|EnumSystemLocales|CreateFiber)\b/
        $proc = /extern\s+\w+\s+(CreateProcess\w*|WinExec|ShellExecute\w*)\s*\(/
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $import and (($alloc and $start) or $proc)
}
