using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Discovery;

namespace Exir.Detection.Files;

/// <summary>One file of a known-good server: its anchor-relative path, size and SHA-256.</summary>
public sealed record BaselineEntry(string Path, long Size, string Sha256);

/// <summary>
/// The web files of a known-good Exchange server of one exact build (including the Security Update).
/// A scan compares a suspect server against it and reports only added and changed files; comparing
/// against another build is refused, because that floods the analyst with thousands of false changes
/// (the reason Microsoft withdrew CompareExchangeHashes).
/// </summary>
public sealed class WebBaseline
{
    public const string Magic = "# exir web baseline v1";

    public required string Build { get; init; }
    public required string BuildSource { get; init; }
    public DateTimeOffset CreatedUtc { get; init; }
    public string Root { get; init; } = "";
    public required IReadOnlyDictionary<string, BaselineEntry> Files { get; init; }

    /// <summary>Key used to compare paths across servers: anchor-relative, lower case.</summary>
    public static string Key(string anchorPath) => anchorPath.ToLowerInvariant();

    /// <summary>
    /// Walks an evidence source (a mounted drive or the Exchange folder of a clean server) and records
    /// its web files. Throws <see cref="InvalidDataException"/> when no exact build can be found.
    /// </summary>
    public static WebBaseline Create(IEvidenceSource source, CoverageReport coverage, IReadOnlySet<string> scriptExtensions, CancellationToken cancellationToken = default)
    {
        var files = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
        var buildHints = new List<EvidenceFile>();
        foreach (var file in source.EnumerateFiles(coverage, cancellationToken))
        {
            if (IsBuildHint(file)) buildHints.Add(file);
            if (!WebPaths.IsBaselined(file.RelativePath, scriptExtensions)) continue;
            var anchor = WebPaths.AnchorKey(file.RelativePath);
            if (anchor is null) continue;
            string sha;
            try
            {
                using var s = file.OpenRead();
                sha = Convert.ToHexStringLower(SHA256.HashData(s));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, $"baseline: {e.Message}");
                continue;
            }
            coverage.FileRead(file.Length);
            files[Key(anchor)] = new BaselineEntry(anchor, file.Length, sha);
        }
        var build = BuildDiscovery.Best(BuildDiscovery.FindInFiles(buildHints, coverage, cancellationToken));
        if (build is null)
            throw new InvalidDataException($"no Bin/ExSetup.exe under {source.Root}: a baseline must name the exact build including the Security Update, and only ExSetup.exe's file version shows it");
        if (build.Precision != Precision.Su || !build.Build.HasRevision)
            throw new InvalidDataException($"only the CU-level build {build.BuildText} is known ({build.Source}); a baseline needs the exact build including the Security Update, read from Bin/ExSetup.exe");
        return new WebBaseline
        {
            Build = build.Build.ToString(),
            BuildSource = $"{build.Source} ({build.Path})",
            CreatedUtc = DateTimeOffset.UtcNow,
            Root = source.Root,
            Files = files,
        };
    }

    /// <summary>Files BuildDiscovery learns the build from: ExSetup.exe (to the SU) and files in OWA version folders (to the CU).</summary>
    public static bool IsBuildHint(EvidenceFile file) =>
        file.Name.Equals("ExSetup.exe", StringComparison.OrdinalIgnoreCase) || IsOwaVersionFile(file);

    private static bool IsOwaVersionFile(EvidenceFile file)
    {
        var folder = WebPaths.Folder(file.RelativePath);
        foreach (var tail in (ReadOnlySpan<string>)["FrontEnd/HttpProxy/owa/auth", "ClientAccess/Owa/prem", "ClientAccess/Owa"])
        {
            int i = WebPaths.IndexOfSegments(folder, tail);
            if (i < 0) continue;
            var rest = folder[(i + tail.Length)..].TrimStart('/');
            int slash = rest.IndexOf('/');
            var first = slash < 0 ? rest : rest[..slash];
            if (first.Count(c => c == '.') == 3 && first.All(c => char.IsDigit(c) || c == '.')) return true;
        }
        return false;
    }

    public void Write(TextWriter w)
    {
        w.Write(Magic + "\n");
        w.Write($"# build: {Build}\n");
        w.Write($"# build_source: {Clean(BuildSource)}\n");
        w.Write($"# created_utc: {CreatedUtc.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\n");
        w.Write($"# root: {Clean(Root)}\n");
        w.Write("path\tsize\tsha256\n");
        foreach (var e in Files.Values.OrderBy(e => e.Path, StringComparer.Ordinal))
            w.Write($"{Clean(e.Path)}\t{e.Size.ToString(CultureInfo.InvariantCulture)}\t{e.Sha256}\n");
    }

    private static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');

    public static WebBaseline Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Read(reader, path);
    }

    public static WebBaseline Read(TextReader reader, string name)
    {
        var first = reader.ReadLine();
        if (first != Magic) throw new InvalidDataException($"{name} is not an exir web baseline (first line must be '{Magic}')");
        string? build = null, source = null, root = null;
        DateTimeOffset created = default;
        var files = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
        int n = 1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            n++;
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                var key = line[2..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                switch (key)
                {
                    case "build": build = value; break;
                    case "build_source": source = value; break;
                    case "root": root = value; break;
                    case "created_utc": DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out created); break;
                }
                continue;
            }
            if (line.Length == 0 || line == "path\tsize\tsha256") continue;
            var f = line.Split('\t');
            if (f.Length != 3 || !long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || f[2].Length != 64)
                throw new InvalidDataException($"{name}:{n}: expected 'path<TAB>size<TAB>sha256'");
            files[Key(f[0])] = new BaselineEntry(f[0], size, f[2].ToLowerInvariant());
        }
        if (string.IsNullOrEmpty(build)) throw new InvalidDataException($"{name}: no '# build:' line");
        return new WebBaseline { Build = build, BuildSource = source ?? "", CreatedUtc = created, Root = root ?? "", Files = files };
    }

    /// <summary>
    /// Null when the baseline may be used for a server of <paramref name="serverBuild"/>, else the reason it may not.
    /// Both builds must be known to the revision (the Security Update) and equal.
    /// </summary>
    public string? RefusalFor(string? serverBuild)
    {
        if (serverBuild is null)
            return $"the scanned server's Exchange build is unknown; the baseline is for {Build} and can only be used on that exact build";
        if (!Exir.Knowledge.Builds.ExchangeBuild.TryParse(Build, out var b))
            return $"the baseline's build '{Build}' is not an Exchange build number";
        if (!Exir.Knowledge.Builds.ExchangeBuild.TryParse(serverBuild, out var s))
            return $"the scanned server's build '{serverBuild}' is not an Exchange build number";
        if (!s.HasRevision)
            return $"the scanned server's build is only known to the CU ({serverBuild}); the baseline is for {Build}: the exact build including the Security Update must match (add Bin/ExSetup.exe to the evidence)";
        if (b != s)
            return $"the baseline is for Exchange {Build} but the scanned server runs {serverBuild}; comparing different builds would report every updated file as changed. Create a baseline on a clean server of build {serverBuild}";
        return null;
    }
}
