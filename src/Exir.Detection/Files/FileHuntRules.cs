using Exir.Core.Findings;

namespace Exir.Detection.Files;

/// <summary>
/// Metadata of the file hunt's own (non-YARA) checks. The lists they use are data
/// (rules/allowlists, rules/iocs); what each finding means is stated here once.
/// </summary>
public static class FileHuntRules
{
    private const string WebShellAttack = "T1505.003";

    public static readonly RuleInfo KnownBadHash = new()
    {
        Id = "FILE-KNOWN-BAD-HASH",
        Title = "File matches a published hash of Exchange-attack malware",
        Severity = Severity.Critical,
        Outcome = Outcome.Success,
        Attack = [WebShellAttack],
        Explanation = "The file's content hash is on a published indicator list of web shells and tools used against Exchange servers (see details for the source). The file is the same as a known malicious sample.",
        References = ["https://www.microsoft.com/en-us/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"],
    };

    public static readonly RuleInfo ProxyShellPst = new()
    {
        Id = "FILE-PST-AS-WEB-PAGE",
        Title = "Mailbox export (PST) saved as a web page (ProxyShell)",
        Severity = Severity.Critical,
        Outcome = Outcome.Success,
        Cves = ["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"],
        Attack = [WebShellAttack, "T1190"],
        Explanation = "A file with a web-script extension starts with the PST signature !BDN. ProxyShell abused New-MailboxExportRequest to write a mailbox as a PST named .aspx into a web folder; the crafted mail item inside is the web shell. No Exchange feature writes PST files under a web root.",
        References = ["https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell"],
    };

    public static readonly RuleInfo KnownShellPath = new()
    {
        Id = "FILE-KNOWN-SHELL-PATH",
        Title = "File at a published web-shell drop path",
        Severity = Severity.High,
        Outcome = Outcome.Indicator,
        Attack = [WebShellAttack],
        Explanation = "The file's path or name is one under which web shells were found in the Exchange exploitation waves (see details for the source). The name alone proves nothing, but these names are not shipped by Exchange: inspect the file.",
        References = ["https://github.com/microsoft/CSS-Exchange/tree/main/Security"],
    };

    public static readonly RuleInfo UnexpectedScript = new()
    {
        Id = "FILE-UNEXPECTED-SCRIPT",
        Title = "Script file Exchange does not ship in an Exchange web folder",
        Severity = Severity.Medium,
        Outcome = Outcome.Indicator,
        Attack = [WebShellAttack],
        Explanation = "A page or handler sits in a folder where Exchange installs only the files listed in rules/allowlists/exchange-web-files.txt (or none at all). Attackers drop shells into owa/auth, ecp/auth and aspnet_client because these folders are reachable without authentication. Confirm whether an administrator put it there; otherwise treat it as a web shell.",
        References = ["https://www.microsoft.com/en-us/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"],
    };

    public static readonly RuleInfo NewerThanBuild = new()
    {
        Id = "FILE-NEWER-THAN-BUILD",
        Title = "Exchange web file modified after the installed build was released",
        Severity = Severity.Medium,
        Outcome = Outcome.Indicator,
        Attack = [WebShellAttack],
        Explanation = "Files Exchange installs carry the time stamps of the build that shipped them. A script file in an Exchange web folder written after the installed build's release was changed or added later. Compare it with a clean copy of the same build.",
        References = ["https://learn.microsoft.com/en-us/exchange/new-features/build-numbers-and-release-dates"],
    };

    public static readonly RuleInfo BaselineAdded = new()
    {
        Id = "FILE-BASELINE-ADDED",
        Title = "Web file not present on the known-good server of the same build",
        Severity = Severity.Medium,
        Outcome = Outcome.Indicator,
        Attack = [WebShellAttack],
        Explanation = "The baseline made on a clean server of the exact same Exchange build has no file at this path. Added pages and assemblies in Exchange folders are how web shells persist.",
    };

    public static readonly RuleInfo BaselineChanged = new()
    {
        Id = "FILE-BASELINE-CHANGED",
        Title = "Web file differs from the known-good server of the same build",
        Severity = Severity.High,
        Outcome = Outcome.Indicator,
        Attack = [WebShellAttack],
        Explanation = "The file exists on the clean server of the exact same Exchange build with other content (SHA-256). Attackers trojanise Exchange's own pages (e.g. the OWA logon or ExpiredPassword page) to harvest credentials or hide a shell.",
    };
}
