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

    /// <summary>
    /// A path in the shared corpus; skips the calling test, with the reason, when ../shared is absent (a fresh clone).
    /// The summary line of the test command counts such skips.
    /// </summary>
    public static string InCorpus(params string[] parts)
    {
        if (!HasShared) Assert.Skip($"needs the shared corpus ({Corpus}), absent here (a fresh clone without ../shared)");
        return Path.Combine([Corpus, .. parts]);
    }

    /// <summary>Like <see cref="InCorpus"/> for anything under ../shared (reference tools and tables).</summary>
    public static string InShared(params string[] parts)
    {
        if (!Directory.Exists(Shared)) Assert.Skip($"needs ../shared ({Shared}), absent here (a fresh clone)");
        return Path.Combine([Shared, .. parts]);
    }

    private static readonly System.Collections.Concurrent.ConcurrentBag<string> Created = [];
    private static int _cleanupHooked;

    /// <summary>
    /// A fresh temporary folder under the system temp dir (never inside ../shared). Every folder made here is deleted
    /// when the test process exits, so a test run leaves nothing behind in /tmp.
    /// </summary>
    public static string NewTempDir(string prefix = "exir-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        Created.Add(dir);
        if (Interlocked.Exchange(ref _cleanupHooked, 1) == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteCreated();
        return dir;
    }

    private static void DeleteCreated()
    {
        var failed = new List<string>();
        foreach (var dir in Created)
        {
            try
            {
                // Tests make files read-only; make everything deletable first. Links are skipped, never followed: a test
                // links "/" into its tree, and walking it would touch the whole machine and never end.
                foreach (var f in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
                    try { File.SetAttributes(f, FileAttributes.Normal); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException) { failed.Add(dir); }
            catch (UnauthorizedAccessException) { failed.Add(dir); }
        }
        if (failed.Count > 0) RemoveWithTools(failed);
    }

    /// <summary>
    /// What .NET cannot delete: names that are not valid UTF-8 (hostile-walk tests make them), folders a test made
    /// unreadable. One rm after everything else is gone (the process is about to end): it works on raw bytes and never
    /// follows the links inside (a test links "/" into its tree).
    /// </summary>
    private static void RemoveWithTools(List<string> dirs)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("chmod -R u+rwX -- \"$@\" 2>/dev/null; rm -rf --one-file-system -- \"$@\"");
            psi.ArgumentList.Add("sh");
            foreach (var d in dirs) psi.ArgumentList.Add(d);
            using var p = System.Diagnostics.Process.Start(psi);
            p?.WaitForExit(5_000);
        }
        catch (System.ComponentModel.Win32Exception) { }
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
