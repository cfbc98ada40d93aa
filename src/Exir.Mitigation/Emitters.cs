using System.Reflection;
using System.Security;
using System.Text;

namespace Exir.Mitigation;

public enum EmitTarget { Iis, Nginx, HaProxy, PowerShell }

/// <summary>Renders the rule set as ready configuration. Every output opens with who wrote it, from which rule set, and that it is a stop-gap.</summary>
public static class Emitters
{
    public static string ExirVersion { get; } =
        typeof(Emitters).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    public static EmitTarget? Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "iis" => EmitTarget.Iis,
        "nginx" => EmitTarget.Nginx,
        "haproxy" => EmitTarget.HaProxy,
        "powershell" or "ps1" => EmitTarget.PowerShell,
        _ => null,
    };

    public static string Emit(EmitTarget target, MitigationRuleSet set) => target switch
    {
        EmitTarget.Iis => Iis(set),
        EmitTarget.Nginx => Nginx(set),
        EmitTarget.HaProxy => HaProxy(set),
        EmitTarget.PowerShell => PowerShell(set),
        _ => throw new ArgumentOutOfRangeException(nameof(target)),
    };

    private static IEnumerable<string> Header(MitigationRuleSet set, string target)
    {
        yield return $"exir {ExirVersion} mitigate --emit {target}: mitigation rule set {set.Version}";
        yield return "A STOP-GAP, NOT A PATCH: install the current Exchange Security Update; these rules only block the known request shapes.";
        yield return "Check the server for compromise as well (exir scan): a mitigation does not remove what an attacker left behind.";
        yield return "Rules:";
        foreach (var r in set.Rules)
            yield return $"  {r.Id} ({string.Join(", ", r.Cves)}): stops {r.Stops}";
    }

    /// <summary>The URL Rewrite condition input for a rule: the server variable, wrapped in UrlDecode as often as the rule decodes.</summary>
    public static string IisInput(MitigationRule r)
    {
        var input = "{" + r.Variable + "}";
        for (var i = 0; i < r.Decode; i++) input = "{UrlDecode:" + input + "}";
        return input;
    }

    private static string X(string s) => SecurityElement.Escape(s);

    private static void IisRules(StringBuilder sb, MitigationRuleSet set, string indent)
    {
        foreach (var r in set.Rules)
        {
            sb.Append(indent).Append($"<!-- {r.Id}: {X(r.Title).Replace("--", "- -")} -->\n");
            sb.Append(indent).Append($"<rule name=\"{X(r.IisName)}\" patternSyntax=\"ECMAScript\" stopProcessing=\"true\">\n");
            sb.Append(indent).Append("  <match url=\".*\" />\n");
            sb.Append(indent).Append("  <conditions logicalGrouping=\"MatchAll\">\n");
            sb.Append(indent).Append($"    <add input=\"{X(IisInput(r))}\" pattern=\"{X(r.Pattern)}\" ignoreCase=\"true\" />\n");
            sb.Append(indent).Append("  </conditions>\n");
            sb.Append(indent).Append("  <action type=\"AbortRequest\" />\n");
            sb.Append(indent).Append("</rule>\n");
        }
    }

    /// <summary>Two fragments: rules for a site's web.config, and globalRules for applicationHost.config (all sites).</summary>
    public static string Iis(MitigationRuleSet set)
    {
        var sb = new StringBuilder();
        sb.Append("<!--\n");
        foreach (var l in Header(set, "iis")) sb.Append("  ").Append(X(l).Replace("--", "- -")).Append('\n');
        sb.Append("  Needs the IIS URL Rewrite module. Use ONE of the two fragments below:\n");
        sb.Append("  1. web.config of the Default Web Site (what Microsoft's EOMT does): inside <configuration><system.webServer>.\n");
        sb.Append("  2. applicationHost.config, all sites: inside <configuration><system.webServer> (globalRules).\n");
        sb.Append("  Or run the script that 'exir mitigate' emits for powershell: it applies, checks and rolls back.\n");
        sb.Append("-->\n");
        sb.Append("<exir-mitigations>\n");
        sb.Append("  <!-- 1. web.config (site level) -->\n");
        sb.Append("  <rewrite>\n    <rules>\n");
        IisRules(sb, set, "      ");
        sb.Append("    </rules>\n  </rewrite>\n");
        sb.Append("  <!-- 2. applicationHost.config (server level) -->\n");
        sb.Append("  <rewrite>\n    <globalRules>\n");
        IisRules(sb, set, "      ");
        sb.Append("    </globalRules>\n  </rewrite>\n");
        sb.Append("</exir-mitigations>\n");
        return sb.ToString();
    }

    private static string Var(MitigationRule r, string prefix) => prefix + r.Id.Replace('-', '_');

    public static string Nginx(MitigationRuleSet set)
    {
        var sb = new StringBuilder();
        foreach (var l in Header(set, "nginx")) sb.Append("# ").Append(l).Append('\n');
        sb.Append("#\n# Put this file in the http {} context (e.g. /etc/nginx/conf.d/exir-mitigations.conf), then in every server {}\n");
        sb.Append("# that proxies to Exchange:   if ($exir_mitigate) { return 403; }\n");
        sb.Append("# URI rules match $request_uri, the raw path and query: nginx's $uri is decoded once and has no query string,\n");
        sb.Append("# where ProxyNotShell puts 'powershell'. A rule that asks for decoding is widened to match each character\n");
        sb.Append("# however often it is percent-encoded. Several Cookie headers: nginx before 1.23 puts only the first in $http_cookie.\n\n");
        foreach (var r in set.Rules)
        {
            var (source, pattern) = r.OnCookie ? ("$http_cookie", r.Pattern) : ("$request_uri", r.Decode == 0 ? r.Pattern : UriForms.PercentTolerant(r.Pattern));
            sb.Append($"# {r.Id}: {r.Title}\n");
            sb.Append($"map {source} {Var(r, "$exir_")} {{\n    default 0;\n    \"~*{pattern}\" 1;\n}}\n\n");
        }
        sb.Append("# 1 when any rule above matched.\n");
        sb.Append($"map \"{string.Concat(set.Rules.Select(r => Var(r, "$exir_")))}\" $exir_mitigate {{\n    default 1;\n    \"~^0*$\" 0;\n}}\n");
        return sb.ToString();
    }

    public static string HaProxy(MitigationRuleSet set)
    {
        var sb = new StringBuilder();
        foreach (var l in Header(set, "haproxy")) sb.Append("# ").Append(l).Append('\n');
        sb.Append("#\n# Paste into the frontend that serves Exchange (HTTP mode, after TLS termination), before use_backend.\n");
        sb.Append("# URI rules look at the URL decoded as the rule asks (url_dec) and also at the raw URL widened to see through any\n");
        sb.Append("# percent-encoding, so a malformed escape that makes url_dec fail does not slip through.\n\n");
        foreach (var r in set.Rules)
        {
            var name = Var(r, "exir_");
            sb.Append($"# {r.Id}: {r.Title}\n");
            if (r.OnCookie)
            {
                sb.Append($"acl {name} req.fhdr(cookie) -m reg -i '{r.Pattern}'\n");
                sb.Append($"http-request deny deny_status 403 if {name}\n\n");
            }
            else
            {
                var fetch = "url" + string.Concat(Enumerable.Repeat(",url_dec", r.Decode));
                sb.Append($"acl {name}_dec {fetch} -m reg -i '{r.Pattern}'\n");
                sb.Append($"acl {name}_raw url -m reg -i '{(r.Decode == 0 ? r.Pattern : UriForms.PercentTolerant(r.Pattern))}'\n");
                sb.Append($"http-request deny deny_status 403 if {name}_dec || {name}_raw\n\n");
            }
        }
        return sb.ToString();
    }

    private static string Ps(string s) => "'" + s.Replace("'", "''") + "'";

    public static string PowerShell(MitigationRuleSet set)
    {
        var sb = new StringBuilder();
        sb.Append("<#\n");
        foreach (var l in Header(set, "powershell")) sb.Append(".NOTES ").Append(l.Replace("#>", "# >")).Append('\n');
        sb.Append(@".SYNOPSIS
Adds (or with -Rollback removes) exir's Exchange mitigation rules as IIS URL Rewrite global rules
(system.webServer/rewrite/globalRules in applicationHost.config, all sites).
.DESCRIPTION
Idempotent: a rule already present by name is left as it is, so running twice changes nothing.
-WhatIf shows what would change and changes nothing. Before any change applicationHost.config is copied to -BackupFolder.
Run as Administrator on each Exchange server; needs the IIS URL Rewrite module.
.EXAMPLE
.\exir-mitigations.ps1 -WhatIf
.EXAMPLE
.\exir-mitigations.ps1
.EXAMPLE
.\exir-mitigations.ps1 -Rollback
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [switch]$Rollback,
    [string]$BackupFolder = (Join-Path $env:ProgramData 'exir\mitigation-backup')
)
$ErrorActionPreference = 'Stop'
Import-Module WebAdministration
if (-not (Test-Path (Join-Path $env:windir 'System32\inetsrv\rewrite.dll'))) {
    throw 'The IIS URL Rewrite module is not installed: install it first (https://www.iis.net/downloads/microsoft/url-rewrite).'
}
$psPath = 'MACHINE/WEBROOT/APPHOST'
$filter = 'system.webServer/rewrite/globalRules'
$rules = @(
");
        foreach (var r in set.Rules)
            sb.Append($"    @{{ Name = {Ps(r.IisName)}; Input = {Ps(IisInput(r))}; Pattern = {Ps(r.Pattern)} }}\n");
        sb.Append(@")

function Test-ExirRule([string]$Name) {
    $null -ne (Get-WebConfigurationProperty -PSPath $psPath -Filter ""$filter/rule[@name='$Name']"" -Name 'name' -ErrorAction SilentlyContinue)
}

$script:backedUp = $false
function Backup-ApplicationHost {
    if ($script:backedUp) { return }
    $config = Join-Path $env:windir 'System32\inetsrv\config\applicationHost.config'
    New-Item -ItemType Directory -Force -Path $BackupFolder | Out-Null
    $copy = Join-Path $BackupFolder (""applicationHost.config.{0}.bak"" -f (Get-Date -Format 'yyyyMMddHHmmss'))
    Copy-Item -LiteralPath $config -Destination $copy
    Write-Host ""Backed up applicationHost.config to $copy""
    $script:backedUp = $true
}

$changed = 0
foreach ($rule in $rules) {
    $present = Test-ExirRule $rule.Name
    if ($Rollback) {
        if (-not $present) { Write-Host ""absent, nothing to remove: $($rule.Name)""; continue }
        if ($PSCmdlet.ShouldProcess($rule.Name, 'remove URL Rewrite global rule')) {
            Backup-ApplicationHost
            Clear-WebConfiguration -PSPath $psPath -Filter ""$filter/rule[@name='$($rule.Name)']""
            Write-Host ""removed: $($rule.Name)""
            $changed++
        }
        continue
    }
    if ($present) { Write-Host ""already present, unchanged: $($rule.Name)""; continue }
    if ($PSCmdlet.ShouldProcess($rule.Name, 'add URL Rewrite global rule (abort the request)')) {
        Backup-ApplicationHost
        $ruleFilter = ""$filter/rule[@name='$($rule.Name)']""
        Add-WebConfigurationProperty -PSPath $psPath -Filter $filter -Name '.' -Value @{ name = $rule.Name; patternSyntax = 'ECMAScript'; stopProcessing = 'True' }
        Set-WebConfigurationProperty -PSPath $psPath -Filter ""$ruleFilter/match"" -Name 'url' -Value '.*'
        Add-WebConfigurationProperty -PSPath $psPath -Filter ""$ruleFilter/conditions"" -Name '.' -Value @{ input = $rule.Input; pattern = $rule.Pattern; ignoreCase = 'True' }
        Set-WebConfigurationProperty -PSPath $psPath -Filter ""$ruleFilter/action"" -Name 'type' -Value 'AbortRequest'
        Write-Host ""added: $($rule.Name)""
        $changed++
    }
}
Write-Host ""$changed rule(s) changed. Verify offline with: exir mitigate --verify $env:windir\System32\inetsrv\config\applicationHost.config""
");
        return sb.ToString().Replace("\r\n", "\n");
    }
}
