using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>Runs the file hunt the way the record pipeline does, on single files or folders, with the repository's rules.</summary>
internal static class FilesTestSupport
{
    private static readonly Lazy<YaraContentRules> BuiltIn = new(() => YaraContentRules.Load(Rules, []));

    public static DataFiles Rules => RulesFiles;
    private static readonly DataFiles RulesFiles = new("rules", typeof(FileHunt).Assembly, Path.Combine(TestPaths.RepoRoot, "rules"));

    public static YaraContentRules BuiltInRules => BuiltIn.Value;

    public static ArtifactClassifier Classifier { get; } = new(FileHuntRules.Load(RulesFiles).ScriptExtensions);

    public static FileHunt Detector(RunOptions? options = null, IContentRules? content = null, BuildHints? build = null) =>
        new(options ?? new RunOptions { Parallelism = 1 }, Rules, content ?? BuiltInRules, build ?? new BuildHints());

    public static RunContext Context(IEvidenceSource source, RunOptions? options = null) =>
        new() { Options = options ?? new RunOptions { Parallelism = 1 }, Coverage = new CoverageReport(), Source = source };

    public static string Write(string root, string relative, byte[] content, DateTime? mtimeUtc = null)
    {
        var path = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        if (mtimeUtc is { } m) File.SetLastWriteTimeUtc(path, m);
        return path;
    }

    /// <summary>Inspects one in-memory file under the given evidence path.</summary>
    public static IReadOnlyList<Finding> InspectBytes(FileHunt detector, string relativePath, byte[] content, DateTimeOffset? mtime = null, RunContext? context = null)
    {
        context ??= Context(new SingleFileEvidenceSource("/dev/null"));
        var file = new EvidenceFile(relativePath, content.Length, mtime, () => new MemoryStream(content, writable: false));
        var probe = Classifier.Probe(file, content.AsMemory(0, Math.Min(content.Length, 65536)));
        int before = context.Findings.Count;
        if (detector.Wants(probe, context)) detector.Inspect(probe, context);
        return context.Findings.Skip(before).ToList();
    }

    /// <summary>The file hunt and the build hints on the record pipeline over a folder (one worker, deterministic).</summary>
    public static RunContext Hunt(string root, RunOptions options)
    {
        using var source = EvidenceSource.Open(root);
        var build = new BuildHints();
        var pipeline = new RecordPipeline(Classifier, [build, Detector(options, build: build)]);
        return pipeline.Run(source, options with { Parallelism = 1 });
    }
}
