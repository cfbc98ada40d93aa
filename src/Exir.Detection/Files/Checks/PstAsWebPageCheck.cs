using Exir.Core.Findings;

namespace Exir.Detection.Files.Checks;

/// <summary>ProxyShell: a mailbox export (PST, "!BDN") written under a web-script name.</summary>
public sealed class PstAsWebPageCheck(RuleInfo rule, IReadOnlySet<string> scriptExtensions) : IFileCheck
{
    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        if (!scriptExtensions.Contains(file.File.Extension) || file.Data.Length < 4 || !file.Data.Span[..4].SequenceEqual("!BDN"u8)) return;
        report.Report(rule, file.File, "PST header '!BDN' at offset 0 of a " + file.File.Extension + " file", file.BaseDetails());
    }
}
