namespace Exir.Tests;

/// <summary>Where tests find the repository and the read-only shared corpus (../shared from the repo root).</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The shared corpus folder; CI always has it. Tests that need it skip with a reason when absent.</summary>
    /// <remarks>EXIR_SHARED points elsewhere (e.g. a missing folder, to run the suite as a fresh clone without ../shared would).</remarks>
    public static string Shared => Environment.GetEnvironmentVariable("EXIR_SHARED") is { Length: > 0 } s
        ? Path.GetFullPath(s)
        : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string Corpus => Path.Combine(Shared, "corpus");
    public static bool HasShared => Directory.Exists(Corpus);

    /// <summary>A fresh temporary folder under the system temp dir (never inside ../shared).</summary>
    public static string NewTempDir(string prefix = "exir-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        var recorded = typeof(TestPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ExirRepoRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "exir.slnx"))) return recorded;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "exir.slnx"))) return dir.FullName;
        throw new InvalidOperationException("exir.slnx not found above " + AppContext.BaseDirectory);
    }
}
