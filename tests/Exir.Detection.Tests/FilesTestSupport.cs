using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Detection.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>Runs the file hunt the way the scan pipeline does, on single files or folders, with the repository's rules.</summary>
internal static class FilesTestSupport
{
    private static readonly Lazy<YaraContentRules> BuiltIn = new(() => YaraContentRules.Load(Rules, []));

    public static DataFiles Rules => RulesFiles;
    private static readonly DataFiles RulesFiles = new("rules", typeof(FileHuntDetector).Assembly, Path.Combine(TestPaths.RepoRoot, "rules"));

    public static YaraContentRules BuiltInRules => BuiltIn.Value;

    public static FileHuntDetector Detector(ScanOptions? options = null, IContentRules? content = null) =>
        new(options ?? new ScanOptions { Parallelism = 1 }, Rules, content ?? BuiltInRules);

    public static ScanContext Context(IEvidenceSource source, ScanOptions? options = null) =>
        new() { Options = options ?? new ScanOptions { Parallelism = 1 }, Coverage = new CoverageReport(), Source = source };

    public static string Write(string root, string relative, byte[] content, DateTime? mtimeUtc = null)
    {
        var path = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        if (mtimeUtc is { } m) File.SetLastWriteTimeUtc(path, m);
        return path;
    }

    /// <summary>Inspects one in-memory file under the given evidence path.</summary>
    public static IReadOnlyList<Finding> InspectBytes(FileHuntDetector detector, string relativePath, byte[] content, DateTimeOffset? mtime = null, ScanContext? context = null)
    {
        context ??= Context(new SingleFileEvidenceSource("/dev/null"));
        var file = new EvidenceFile(relativePath, content.Length, mtime, () => new MemoryStream(content, writable: false));
        var probe = new ArtifactProbe
        {
            File = file,
            Kind = ArtifactClassifier.Classify(file, content.AsSpan(0, Math.Min(content.Length, 65536)), out _),
            Head = content.AsMemory(0, Math.Min(content.Length, 65536)),
        };
        int before = context.Findings.Count;
        if (detector.Wants(probe, context)) detector.Inspect(probe, context);
        return context.Findings.Skip(before).ToList();
    }
}
