using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Exir.Cli.Commands;
using Exir.Remediation;

namespace Exir.Remediation.Tests;

/// <summary>
/// Quarantine against an intruder who controls the evidence tree (and may race exir) or the store's manifest:
/// exir must never delete, move or write a file outside what it was asked to take. Each test builds its hostile
/// input in code (a folder swapped for a link at the worst moment, artifacts that leave the root, crafted manifests).
/// </summary>
public sealed class HostileQuarantineTests
{
    private static readonly byte[] Shell = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"k\"],\"unsafe\");%>"u8.ToArray();
    private static readonly byte[] Precious = "an unrelated file the intruder wants exir to destroy"u8.ToArray();

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static string Write(string path, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Generator: replaces <paramref name="folder"/> by a link to <paramref name="target"/>; returns where the real folder went.</summary>
    internal static string SwapForLink(string folder, string target)
    {
        var moved = folder + ".moved";
        Directory.Move(folder, moved);
        try { Directory.CreateSymbolicLink(folder, target); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Assert.Skip($"cannot create links here: {e.Message}"); }
        return moved;
    }

    internal static void LinkFolder(string link, string target)
    {
        try { Directory.CreateSymbolicLink(link, target); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Assert.Skip($"cannot create links here: {e.Message}"); }
    }

    /// <summary>A shell in web/aspnet_client and, outside, an unrelated file of the same name.</summary>
    private static (string Dir, string Shell, string Outside) Tree()
    {
        var dir = TestPaths.NewTempDir();
        var shell = Write(Path.Combine(dir, "web", "aspnet_client", "shell.aspx"), Shell);
        var outside = Write(Path.Combine(dir, "outside", "shell.aspx"), Precious);
        return (dir, shell, outside);
    }

    [Fact]
    public void A_parent_folder_swapped_for_a_link_before_the_delete_deletes_nothing_outside()
    {
        var (dir, shell, outside) = Tree();
        var folder = Path.GetDirectoryName(shell)!;
        string? moved = null;
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        // The worst moment: the original was re-hashed and is about to be deleted.
        store.StepHook = s => { if (s == "verified") moved = SwapForLink(folder, Path.GetDirectoryName(outside)!); };

        var entry = store.Quarantine(shell);

        Assert.NotNull(moved);
        Assert.Equal(Precious, File.ReadAllBytes(outside));
        Assert.NotEqual(QuarantineState.Removed, entry.State);
        Assert.Contains("changed", entry.Note);
        // The shell stays where it is now, and the store holds a verified copy.
        Assert.Equal(Shell, File.ReadAllBytes(Path.Combine(moved!, "shell.aspx")));
        Assert.Equal((Sha(Shell), Shell.LongLength), QuarantineStore.HashFile(Path.Combine(store.Root, entry.StoredAs), neutralised: true));
        Assert.Equal(QuarantineState.Stored, Assert.Single(store.List()).State);

        // A later live run (recovery) still refuses to go through the link.
        store.StepHook = null;
        store.Recover();
        Assert.Equal(Precious, File.ReadAllBytes(outside));
        Assert.Equal(QuarantineState.Stored, Assert.Single(store.List()).State);
    }

    [Fact]
    public void A_file_replaced_after_the_rehash_is_not_deleted()
    {
        var (dir, shell, _) = Tree();
        var other = Write(Path.Combine(dir, "web", "aspnet_client", "other.tmp"), Precious);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        store.StepHook = s => { if (s == "verified") File.Move(other, shell, overwrite: true); };

        var entry = store.Quarantine(shell);

        Assert.Equal(Precious, File.ReadAllBytes(shell));
        Assert.Equal(QuarantineState.Stored, entry.State);
        Assert.Contains("changed", entry.Note);
    }

    [Fact]
    public void A_parent_folder_that_is_a_link_is_resolved_and_recorded_where_the_file_really_is()
    {
        // The operator names a path through a link: exir takes the real file and records its real path.
        var (dir, _, outside) = Tree();
        var link = Path.Combine(dir, "via");
        LinkFolder(link, Path.GetDirectoryName(outside)!);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(Path.Combine(link, "shell.aspx"));
        Assert.Equal(Path.GetFullPath(outside), entry.OriginalPath);
        Assert.Equal(QuarantineState.Removed, entry.State);
        Assert.False(File.Exists(outside));
    }

    [Fact]
    public void Restore_into_a_folder_that_became_a_link_writes_nothing_outside()
    {
        var (dir, shell, outside) = Tree();
        File.Delete(outside);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(shell);
        Assert.Equal(QuarantineState.Removed, entry.State);
        var moved = SwapForLink(Path.GetDirectoryName(shell)!, Path.GetDirectoryName(outside)!);

        var e = Assert.Throws<QuarantineException>(() => store.Restore(entry.Id));
        Assert.Contains("link", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(outside)!));
        Assert.Empty(Directory.EnumerateFileSystemEntries(moved));
        Assert.Equal(QuarantineState.Removed, Assert.Single(store.List()).State);
    }

    [Fact]
    public void Restore_when_the_folder_is_swapped_for_a_link_while_writing_writes_nothing_outside()
    {
        var (dir, shell, outside) = Tree();
        File.Delete(outside);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(shell);
        string? moved = null;
        store.StepHook = s => { if (s == "restore-opened") moved = SwapForLink(Path.GetDirectoryName(shell)!, Path.GetDirectoryName(outside)!); };

        Assert.Throws<QuarantineException>(() => store.Restore(entry.Id));

        Assert.NotNull(moved);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(outside)!));
        Assert.Empty(Directory.EnumerateFileSystemEntries(moved!));
        Assert.Equal(QuarantineState.Removed, Assert.Single(store.List()).State);
    }

    // ---- findings.jsonl artifacts that leave the evidence root ----

    /// <summary>Generator: an evidence root with a shell, a link out of the root, and findings naming files outside it.</summary>
    internal static (string Dir, string Root, string Findings, string[] Outside, string Inside) EscapingFindings()
    {
        var dir = TestPaths.NewTempDir();
        var root = Path.Combine(dir, "server");
        var inside = Write(Path.Combine(root, "inetpub", "wwwroot", "ok.aspx"), Shell);
        var outside = new[]
        {
            Write(Path.Combine(dir, "outside", "a.aspx"), Precious),
            Write(Path.Combine(dir, "outside", "b.aspx"), Precious),
            Write(Path.Combine(dir, "outside", "c.aspx"), Precious),
            Write(Path.Combine(dir, "outside", "d.aspx"), Precious),
        };
        LinkFolder(Path.Combine(root, "inetpub", "wwwroot", "link"), Path.Combine(dir, "outside"));
        LinkFolder(Path.Combine(root, "inetpub", "rel"), Path.Combine("..", "..", "outside"));
        var findings = Path.Combine(dir, "findings.jsonl");
        string Line(string artifact) => JsonSerializer.Serialize(new
        {
            rule_id = "yara:EXIR_WebShell_JScript_Eval_Request", title = "t", severity = "critical", outcome = "success",
            artifact, line = (long?)null, evidence = "eval(",
        });
        File.WriteAllLines(findings,
        [
            Line("inetpub/wwwroot/ok.aspx"),
            Line("../outside/a.aspx"),
            Line(outside[1].Replace(Path.DirectorySeparatorChar, '/')),
            Line("inetpub/wwwroot/link/c.aspx"),
            Line("inetpub/rel/d.aspx"),
        ]);
        return (dir, root, findings, outside, inside);
    }

    [Fact]
    public void Findings_artifacts_that_leave_the_root_are_refused_even_through_links()
    {
        var (_, root, findings, _, inside) = EscapingFindings();
        var problems = new List<string>();
        var targets = QuarantinePlan.FromFindings(findings, root, includeIndicators: false, problems.Add);
        var t = Assert.Single(targets);
        Assert.Equal(Path.GetFullPath(inside), t.Path);
        Assert.Equal(4, problems.Count);
        Assert.All(problems, p => Assert.Contains("refused", p));
    }

    [Fact]
    public void Live_run_from_findings_moves_only_files_under_the_root()
    {
        var (dir, root, findings, outside, inside) = EscapingFindings();
        var o = new StringWriter();
        var err = new StringWriter();
        int code = QuarantineCommand.Run([findings], Path.Combine(dir, "store"), live: true, root, includeIndicators: false, o, err);
        Assert.Equal(2, code);
        Assert.False(File.Exists(inside));
        Assert.All(outside, f => Assert.Equal(Precious, File.ReadAllBytes(f)));
    }

    // ---- crafted store manifests ----

    /// <summary>
    /// Generator: a store whose manifest was written by the intruder: items that point out of the store (absolute,
    /// "../"), an id with a path in it, and a "stored" entry naming an unrelated file whose copy is not in the store.
    /// </summary>
    internal static (string Store, string[] Victims, string[] Ids) CraftedStore()
    {
        var dir = TestPaths.NewTempDir();
        var storeDir = Path.Combine(dir, "store");
        using (QuarantineStore.Open(storeDir)) { }
        var victims = Enumerable.Range(0, 4).Select(i => Write(Path.Combine(dir, "victims", $"v{i}.txt"), Precious)).ToArray();
        var now = DateTime.UtcNow;
        string Pending(string id, string original, string storedAs) => JsonSerializer.Serialize(new
        {
            @event = "pending", id, utc = now,
            entry = new
            {
                id, original_path = original, sha256 = Sha(Precious), size = Precious.Length, modified_utc = now,
                quarantined_by = "x", machine = "x", quarantined_utc = now, stored_as = storedAs, state = "pending",
            },
        });
        string Event(string ev, string id) => JsonSerializer.Serialize(new { @event = ev, id, utc = now });
        var ids = new[] { "20210303T000000Z-00000001", "20210303T000000Z-00000002", "..%2f..%2fv2", "20210303T000000Z-00000004" };
        File.WriteAllLines(Path.Combine(storeDir, QuarantineStore.ManifestName),
        [
            // Pending, unverified: recovery "rolls back" by deleting stored_as.
            Pending(ids[0], Path.Combine(dir, "nothing0"), victims[0]),
            Pending(ids[1], Path.Combine(dir, "nothing1"), "items/../../victims/v1.txt"),
            Pending(ids[2], Path.Combine(dir, "nothing2"), "items/../../victims/v2.txt"),
            // Stored: recovery deletes the original when it matches the recorded hash.
            Pending(ids[3], victims[3], $"items/{ids[3]}.bin"),
            Event("stored", ids[3]),
        ]);
        return (storeDir, victims, ids);
    }

    private static Dictionary<string, (long, DateTime)> Snapshot(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (File.Exists(f) ? new FileInfo(f).Length : -1, File.GetLastWriteTimeUtc(f)));

    [Fact]
    public void Quarantine_list_of_a_crafted_manifest_changes_nothing()
    {
        var (storeDir, victims, ids) = CraftedStore();
        var before = Snapshot(storeDir);
        var manifest = File.ReadAllBytes(Path.Combine(storeDir, QuarantineStore.ManifestName));
        var o = new StringWriter();
        var err = new StringWriter();

        Assert.Equal(0, QuarantineCommand.List(storeDir, o, err));

        Assert.All(victims, v => Assert.Equal(Precious, File.ReadAllBytes(v)));
        Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(storeDir, QuarantineStore.ManifestName)));
        Assert.Equal(before, Snapshot(storeDir));
        Assert.Contains(ids[3], o.ToString());
    }

    [Fact]
    public void Live_recovery_of_a_crafted_manifest_touches_nothing_outside_the_store()
    {
        var (storeDir, victims, ids) = CraftedStore();
        using (var store = QuarantineStore.Open(storeDir))
        {
            store.Recover();
            Assert.All(victims, v => Assert.Equal(Precious, File.ReadAllBytes(v)));
            Assert.Contains(store.Warnings, w => w.Contains("stored_as"));
            foreach (var id in ids) Assert.Throws<QuarantineException>(() => store.Restore(id));
        }
        Assert.All(victims, v => Assert.Equal(Precious, File.ReadAllBytes(v)));
    }

    [Fact]
    public void A_stored_item_that_is_a_link_is_never_followed()
    {
        // A verifying "item" outside the store, reached through a link in items/: restore and recovery must not use it.
        var dir = TestPaths.NewTempDir();
        var storeDir = Path.Combine(dir, "store");
        var shell = Write(Path.Combine(dir, "web", "x.aspx"), Shell);
        QuarantineEntry entry;
        using (var store = QuarantineStore.Open(storeDir)) entry = store.Quarantine(shell);
        var item = Path.Combine(storeDir, entry.StoredAs);
        var elsewhere = Path.Combine(dir, "elsewhere.bin");
        File.Move(item, elsewhere);
        try { File.CreateSymbolicLink(item, elsewhere); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Assert.Skip($"cannot create links here: {e.Message}"); }
        using (var store = QuarantineStore.Open(storeDir))
        {
            Assert.Throws<QuarantineException>(() => store.Restore(entry.Id));
            Assert.False(File.Exists(shell));
        }
    }

    [Fact]
    public void A_fifo_named_as_a_shell_is_refused_without_hanging()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("FIFOs are made here with mkfifo (Linux)");
        var dir = TestPaths.NewTempDir();
        var fifo = Path.Combine(dir, "x.aspx");
        using (var p = System.Diagnostics.Process.Start("mkfifo", [fifo])) p.WaitForExit();
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var task = Task.Run(() => Assert.Throws<QuarantineException>(() => store.Quarantine(fifo)));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), "quarantine hung opening a FIFO");
        Assert.Contains("regular file", task.Result.Message);
        Assert.Empty(store.List());
    }

    [Fact]
    public void Restore_with_to_through_a_link_the_operator_chose_goes_where_the_link_points()
    {
        var (dir, shell, outside) = Tree();
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(shell);
        var link = Path.Combine(dir, "restore-here");
        LinkFolder(link, Path.GetDirectoryName(outside)!);
        store.Restore(entry.Id, Path.Combine(link, "back.aspx"));
        Assert.Equal(Shell, File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(outside)!, "back.aspx")));
    }

    [Fact]
    public void A_dry_run_names_links_as_refused()
    {
        var (dir, _, outside) = Tree();
        var link = Path.Combine(dir, "web", "link.aspx");
        try { File.CreateSymbolicLink(link, outside); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Assert.Skip($"cannot create links here: {e.Message}"); }
        var o = new StringWriter();
        var err = new StringWriter();
        Assert.Equal(2, QuarantineCommand.Run([link], Path.Combine(dir, "store"), live: false, null, false, o, err));
        Assert.DoesNotContain("would quarantine", o.ToString());
        Assert.Contains("link", err.ToString());
    }
}
