using System.Security.Cryptography;
using Exir.Core.Findings;

namespace Exir.Detection.Files.Checks;

/// <summary>The file's hash is on a published indicator list (SHA-256; SHA-1 and MD5 only when the lists hold such rows).</summary>
public sealed class PublishedHashCheck(RuleInfo rule, KnownFileIocs iocs) : IFileCheck
{
    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        if (file.Sha256 is not { } sha256) return;
        var hit = iocs.MatchHash(sha256);
        if (hit is null && iocs.HasSha1) hit = iocs.MatchHash(Convert.ToHexStringLower(SHA1.HashData(file.Data.Span)));
        if (hit is null && iocs.HasMd5) hit = iocs.MatchHash(Convert.ToHexStringLower(MD5.HashData(file.Data.Span)));
        if (hit is null) return;
        var d = file.BaseDetails();
        d["ioc_hash"] = hit.Value;
        d["ioc_type"] = hit.Type;
        d["ioc_context"] = hit.Context;
        d["ioc_campaign"] = hit.Campaign;
        d["ioc_source"] = hit.Source;
        report.Report(rule, file.File, $"{hit.Type} {hit.Value}: {hit.Context}", d);
    }
}
