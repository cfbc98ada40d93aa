/*
  exir built-in rules: pages that write files where the caller decides the path or the content
  (uploaders, droppers that plant further shells, self-rewriting pages).
*/

rule EXIR_WebShell_Upload_To_Client_Chosen_Path
{
    meta:
        id = "EXIR-WS-030"
        title = "Upload saved to a path chosen by the client"
        severity = "critical"
        description = "An uploaded file is saved, or request data written, to a path taken from the request or a free-text form field. Legitimate upload pages save below a fixed folder; web-shell uploaders let the operator drop files anywhere on the server."
        attack = "T1505.003, T1105"
        references = "https://attack.mitre.org/techniques/T1105/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Intranet file-management, backup or deployment pages that let an operator type the target path into a text box or pass it in a hidden field (.Value)."
        capability = "file-upload"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $save_req = /\.SaveAs\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?(HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(\.\s*(Form|Params|QueryString|Item)\s*)?[\[\(]/ nocase
        $save_text = /\.SaveAs\s*\(\s*\w+\s*\.\s*(Text|Value)\s*[+&)]/ nocase
        $write_req = /File\s*\.\s*(WriteAllText|WriteAllBytes|AppendAllText|Create|CreateText|OpenWrite)\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?(HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(\.\s*(Form|Params|QueryString|Item)\s*)?[\[\(]/ nocase
        // a writer opened on a path typed into a form field or taken from the request
        $writer_text = /new\s+(System\.IO\.)?(StreamWriter|FileStream|FileInfo)\s*\(\s*(this\s*\.\s*)?\w+\s*\.\s*(Text|Value)\s*[,)]/ nocase
        $writer_req = /new\s+(System\.IO\.)?(StreamWriter|FileStream|FileInfo)\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?(HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(\.\s*(Form|Params|QueryString|Item)\s*)?[\[\(]/ nocase
        $file_text = /File\s*\.\s*(WriteAllText|WriteAllBytes|AppendAllText|Create|CreateText|OpenWrite)\s*\(\s*(this\s*\.\s*)?\w+\s*\.\s*(Text|Value)\s*[,)]/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($save*, $write*, $file*)
}

rule EXIR_WebShell_Dropper_Writes_Server_Script
{
    meta:
        id = "EXIR-WS-031"
        title = "Code writes a new server-side script file"
        severity = "critical"
        description = "Server code creates a file with a script extension (.aspx/.asp/.ashx/...) next to itself, or writes text containing server script tags: a dropper planting a (usually one-line) web shell or an include of one."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Settings pages that rewrite web.config with a StreamWriter or File.WriteAllText on MapPath('~/web.config'); CMS, installer or code-generator pages that write .aspx/.ascx/.asp files from templates."
        capability = "persistence"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $create1 = /File\s*\.\s*(CreateText|WriteAllText|AppendAllText|Create|WriteAllBytes|AppendText)\s*\(/ nocase
        $create2 = /new\s+(System\.IO\.)?StreamWriter\s*\(/ nocase
        $create3 = /\.(CreateTextFile|OpenTextFile)\s*\(/ nocase
        $ext1 = /MapPath\s*\(\s*"[^"\r\n]{1,80}\.(aspx|asp|ashx|asmx|asa|cer|cdx|svc|config)"\s*\)/ nocase
        $ext2 = /(PhysicalPath|PATH_TRANSLATED|FilePath)\s*[\)\]]?\s*\+\s*"\.(aspx|asp|ashx|asmx|asa|cer)"/ nocase
        $tag = /"[^"\r\n]{0,40}<(%[^"\r\n]{0,300}(eval|execute|request)|!--\s*#include\s+(file|virtual))/ nocase
        // a script-named target alone is an application updating its own files: request data must be what is written
        $content_req = /(\.(Write|WriteLine|WriteAllText|AppendAllText|WriteAllBytes)\b|\.SaveAs\s*\()[ \t]*\(?[^;\r\n]{0,120}(\bRequest\s*[\.\[\(]|\.Text\b)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and any of ($create*) and ($tag or (any of ($ext*) and $content_req))
}

rule EXIR_WebShell_ASP_Self_Rewriting_Page
{
    meta:
        id = "EXIR-WS-032"
        title = "Classic ASP page rewrites its own file with request data"
        severity = "high"
        description = "A classic ASP page opens its own script file (SCRIPT_NAME/PATH_TRANSLATED) for writing through Scripting.FileSystemObject and writes request text into it: the page can be turned into arbitrary server code by the caller."
        attack = "T1505.003"
        references = "https://attack.mitre.org/techniques/T1505/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Classic ASP page-view or error loggers that write Request.ServerVariables('URL') and a query-string value to a log file through the FileSystemObject (the URL reference is taken for the page itself)."
        capability = "persistence"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $fso = "Scripting.FileSystemObject" nocase
        $open = /\.(CreateTextFile|OpenTextFile)\s*\(/ nocase
        $self = /(SCRIPT_NAME|PATH_TRANSLATED|URL)["']\s*\)/ nocase
        // request data is what gets written (not merely read somewhere else in the page)
        $write_req = /\.(Write|WriteLine)\b[ \t]*\(?[^\r\n]{0,80}request\s*(\.\s*(form|querystring)\s*)?\(/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $fso and $open and $self and $write_req
}

rule EXIR_WebShell_Writable_Folder_Scanner
{
    meta:
        id = "EXIR-WS-033"
        title = "Page walks the disk probing which folders are writable"
        severity = "high"
        description = "Server code recurses through directories and creates a probe file in each one to find writable folders, a post-exploitation step that precedes dropping more shells."
        attack = "T1083, T1505.003"
        references = "https://attack.mitre.org/techniques/T1083/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Site-maintenance pages that walk a content tree and write a marker or index file into each folder with File.Create/WriteAllText(dir.FullName + ...)."
        capability = "recon"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $walk = /GetDirectories\s*\(/ nocase
        $probe = /File\s*\.\s*(Create|WriteAllText|CreateText)\s*\(\s*\w+\s*\.\s*FullName\s*\+/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $walk and $probe
}

rule EXIR_WebShell_Upload_Beside_Itself
{
    meta:
        id = "EXIR-WS-034"
        title = "Page stores uploaded or request-named files in its own web folder"
        severity = "high"
        description = "Server code takes its own location (Request.PhysicalPath, PATH_TRANSLATED) and writes a file there whose name or content comes from the request: anything uploaded, including a new .aspx, becomes reachable and executable at once."
        attack = "T1505.003, T1105"
        references = "https://attack.mitre.org/techniques/T1105/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Simple intranet upload pages that deliberately store files next to themselves; pages that use Request.PhysicalPath for something else (logging, showing the page date) and also save uploads elsewhere under the uploaded file name."
        capability = "file-upload"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $here = /(Request\s*\.\s*PhysicalPath|PATH_TRANSLATED)/ nocase
        $write = /(FileMode\s*\.\s*Create|\.SaveAs\s*\(|WriteAllBytes\s*\(|WriteAllText\s*\(|CreateText\s*\()/ nocase
        $name1 = /GetFileName\s*\(\s*\w+\s*\.\s*FileName\s*\)/ nocase
        $name2 = /\+\s*(HttpContext\s*\.\s*Current\s*\.\s*)?Request\s*(\.\s*(Form|Params|QueryString|Item)\s*)?\[/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $here and $write and any of ($name*)
}

rule EXIR_WebShell_Image_Polyglot_Server_Page
{
    meta:
        id = "EXIR-WS-035"
        title = "Server page disguised behind an image header"
        severity = "high"
        description = "The file begins with an image signature (GIF/PNG/JPEG) yet contains server-side page code: a web shell made to pass upload filters that check magic bytes."
        attack = "T1505.003, T1036.008"
        references = "https://attack.mitre.org/techniques/T1036/008/"
        author = "exir developers"
        status = "stable"
        falsepositives = "None known: real images do not contain page directives or server script; an image whose metadata quotes server-script text (e.g. a screenshot annotated with web-shell code) could match."
        capability = "concealment"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $page1 = /<%@\s*(Page|WebHandler|WebService)/ nocase
        $page2 = /<script[^>]{0,100}runat\s*=\s*\W?server/ nocase
        $page3 = /<%[^%]{0,200}(eval|execute|request)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and (uint32be(0) == 0x47494638 or uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8) and any of ($page*)
}

rule EXIR_WebShell_Credential_Logger
{
    meta:
        id = "EXIR-WS-036"
        title = "Page writes submitted passwords to a file"
        severity = "high"
        description = "Server code writes the password field of a login form into a file or stream. Attackers trojanise Exchange's OWA logon and ExpiredPassword pages this way to collect every credential typed into them."
        attack = "T1056.003, T1505.003"
        references = "https://attack.mitre.org/techniques/T1056/003/"
        author = "exir developers"
        status = "stable"
        falsepositives = "Custom login pages with a (careless) debug log that writes the submitted password field to a file or trace writer."
        capability = "credential-access"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $write = /(AppendAllText|WriteAllText|AppendText|WriteAllLines|\.WriteLine|\.Write)\s*\([^;]{0,200}Request\s*(\.\s*(Form|Params|Item)\s*)?[\[\(]\s*"(password|passwd|pwd|pass|newPwd\d?|oldPwd)"/ nocase
        $response = /Response\s*\.\s*Write\s*\([^;]{0,200}Request\s*(\.\s*(Form|Params|Item)\s*)?[\[\(]\s*"(password|passwd|pwd|pass)/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $write and not $response
}

rule EXIR_WebShell_ASP_Write_Request_To_File
{
    meta:
        id = "EXIR-WS-037"
        title = "Classic ASP writes request data to a file, or to a path from the request"
        severity = "critical"
        description = "A classic ASP page saves with ADODB.Stream SaveToFile or FileSystemObject CreateTextFile/OpenTextFile where the path comes from the request, or writes request data into the file it opened: an uploader or a page that plants further pages."
        attack = "T1505.003, T1105"
        references = "https://attack.mitre.org/techniques/T1105/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Upload pages of classic ASP applications that store files under a path the form chooses."
        capability = "file-upload"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $sink_path = /(SaveToFile|CreateTextFile|OpenTextFile)\s*\(?\s*[^\r\n]{0,60}request\s*(\.\s*(form|querystring|item)\s*)?\(/ nocase
        $sink_content = /\.\s*(Write|WriteLine|WriteText)\s*\(?\s*(trim\s*\(\s*)?request\s*(\.\s*(form|querystring|item)\s*)?\(/ nocase
        $obj = /(ADODB\.Stream|FileSystemObject)/ nocase
        $open = /(CreateTextFile|OpenTextFile|SaveToFile)\b/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $obj and ($sink_path or ($sink_content and $open))
}

rule EXIR_WebShell_Download_Server_Script
{
    meta:
        id = "EXIR-WS-038"
        title = "Page downloads content and saves it as a server page"
        severity = "critical"
        description = "Server code fetches content over HTTP (XMLHTTP, WinHttp, WebClient) and saves it under a script extension (.asp .aspx .ashx .asa .cer): a dropper that plants a web shell fetched from elsewhere."
        attack = "T1505.003, T1105"
        references = "https://attack.mitre.org/techniques/T1105/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "None expected: applications do not download their own pages at run time."
        capability = "persistence"
        request_input = "not required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $dl = /(MSXML2\.(Server)?XMLHTTP|Microsoft\.XMLHTTP|WinHttp\.WinHttpRequest|DownloadFile\s*\(|DownloadData\s*\(|DownloadString\s*\()/ nocase
        $save = /(SaveToFile|WriteAllText|WriteAllBytes|DownloadFile|CreateTextFile)\s*\(?[^\r\n]{0,80}\.(asp|aspx|ashx|asmx|asa|cer|cdx|svc)["']/ nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $dl and $save
}

rule EXIR_WebShell_ASP_File_Browser
{
    meta:
        id = "EXIR-WS-039"
        title = "Classic ASP page browses folders the caller names and changes files"
        severity = "high"
        description = "A classic ASP page walks a folder chosen through the request (FileSystemObject GetFolder, Files, SubFolders) and deletes, copies, moves, rewrites, re-dates or re-attributes files: a file manager for the caller."
        attack = "T1505.003, T1083, T1070.006"
        references = "https://attack.mitre.org/techniques/T1083/"
        author = "exir developers"
        status = "experimental"
        falsepositives = "Administration pages of classic ASP sites that manage files in a folder chosen from a form."
        capability = "file-manager"
        request_input = "required"
    strings:
        // server-side code at all (ASP/ASP.NET markup, Razor, or C# source as in App_Code): keeps client JS and binaries out
        $server_code = /(<%|runat\s*=\s*\W?server|@\{|@functions|@using\s+System|using\s+System\s*[;.])/ nocase
        $walk = /GetFolder\s*\(/ nocase
        $items = /\.\s*(Files|SubFolders)\b/ nocase
        $op = /(\.\s*(DeleteFile|DeleteFolder|CopyFile|MoveFile|CopyFolder|MoveFolder|CreateTextFile|OpenTextFile|SaveToFile|Delete|Copy|Move)\b|\.\s*attributes\s*=|DateLastModified)/ nocase
        $req = /\brequest\s*(\.\s*(form|querystring|item)\s*)?\(/ nocase
        $fso = "FileSystemObject" nocase
    condition:
        uint16(0) != 0x5A4D and $server_code and filesize < 5MB and $fso and $walk and $items and $op and $req
}
