using System.Security.Cryptography;
using Exir.Remediation;
using Exir.Tests;

namespace Exir.Remediation.Tests;

public sealed class QuarantineStoreTests
{
    private static readonly byte[] Shell = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"k\"],\"unsafe\");%>"u8.ToArray();

    private static string NewFile(string dir, string name, byte[] content, DateTime mtime)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, mtime);
        return path;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    [Fact]
    public void Quarantine_then_restore_gives_back_the_same_bytes_and_times()
    {
        var dir = TestPaths.NewTempDir();
        var mtime = new DateTime(2021, 3, 3, 5, 42, 1, DateTimeKind.Utc);
        var path = NewFile(dir, "web/aspnet_client/x.aspx", Shell, mtime);
        var finding = new FindingReference { RuleId = "yara:EXIR_WebShell_JScript_Eval_Request", Title = "t", Severity = "critical", Artifact = "web/aspnet_client/x.aspx" };

        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(path, finding);

        Assert.Equal(QuarantineState.Removed, entry.State);
        Assert.False(File.Exists(path));
        Assert.Equal(Sha(Shell), entry.Sha256);
        Assert.Equal(Shell.Length, entry.Size);
        Assert.Equal(mtime, entry.ModifiedUtc);
        Assert.Equal(finding, entry.Finding);
        Assert.False(string.IsNullOrEmpty(entry.QuarantinedBy));
        Assert.Equal(Environment.MachineName, entry.Machine);

        // Neutralised: the stored item does not contain the shell's bytes.
        var stored = File.ReadAllBytes(Path.Combine(store.Root, entry.StoredAs));
        Assert.Equal(-1, stored.AsSpan().IndexOf("eval(Request"u8));
        Assert.True(File.Exists(Path.Combine(store.Root, QuarantineStore.ReadmeName)));

        var listed = Assert.Single(store.List());
        Assert.Equal(entry.Id, listed.Id);
        Assert.Equal(QuarantineState.Removed, listed.State);

        var restored = store.Restore(entry.Id);
        Assert.Equal(QuarantineState.Restored, restored.State);
        Assert.Equal(Shell, File.ReadAllBytes(path));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(path));
        Assert.Equal(QuarantineState.Restored, Assert.Single(store.List()).State);
    }

    [Fact]
    public void Readme_recipe_recovers_the_bytes_without_exir()
    {
        var dir = TestPaths.NewTempDir();
        var content = RandomNumberGenerator.GetBytes(100_000);
        var path = NewFile(dir, "a.dll", content, DateTime.UtcNow.AddDays(-3));
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(path);
        // The documented recipe: skip the 18-byte header, XOR with "infected" repeating.
        var data = File.ReadAllBytes(Path.Combine(store.Root, entry.StoredAs))[18..];
        var key = "infected"u8.ToArray();
        for (int i = 0; i < data.Length; i++) data[i] ^= key[i % 8];
        Assert.Equal(content, data);
    }

    [Fact]
    public void Restore_refuses_to_overwrite_an_existing_file()
    {
        var dir = TestPaths.NewTempDir();
        var path = NewFile(dir, "x.aspx", Shell, DateTime.UtcNow);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(path);
        File.WriteAllText(path, "new content");
        var e = Assert.Throws<QuarantineException>(() => store.Restore(entry.Id));
        Assert.Contains("not overwritten", e.Message);
        Assert.Equal("new content", File.ReadAllText(path));
    }

    [Fact]
    public void Restore_refuses_a_tampered_item()
    {
        var dir = TestPaths.NewTempDir();
        var path = NewFile(dir, "x.aspx", Shell, DateTime.UtcNow);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        var entry = store.Quarantine(path);
        var item = Path.Combine(store.Root, entry.StoredAs);
        var bytes = File.ReadAllBytes(item);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(item, bytes);
        Assert.Throws<QuarantineException>(() => store.Restore(entry.Id));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Second_run_cannot_open_a_store_in_use()
    {
        var dir = TestPaths.NewTempDir();
        using var first = QuarantineStore.Open(dir);
        Assert.Throws<QuarantineException>(() => QuarantineStore.Open(dir));
    }

    private sealed class Crash(string step) : Exception(step);

    [Theory]
    [InlineData("pending")]
    [InlineData("copied")]
    [InlineData("stored")]
    [InlineData("removed")]
    public void A_crash_at_any_step_leaves_the_original_or_a_verified_copy_and_the_next_run_recovers(string step)
    {
        var dir = TestPaths.NewTempDir();
        var content = RandomNumberGenerator.GetBytes(300_000);
        var path = NewFile(dir, "owa/auth/x.aspx", content, new DateTime(2022, 9, 30, 1, 2, 3, DateTimeKind.Utc));
        var storeDir = Path.Combine(dir, "store");

        using (var store = QuarantineStore.Open(storeDir))
        {
            store.StepHook = s => { if (s == step) throw new Crash(s); };
            Assert.Throws<Crash>(() => store.Quarantine(path));
        }
        QuarantineInvariants.AssertOriginalOrVerifiedCopy(storeDir, path, content);

        using (var store = QuarantineStore.Open(storeDir))
        {
            store.Recover();
            var entry = Assert.Single(store.List());
            QuarantineInvariants.AssertConsistent(storeDir, entry, path, content);
            // Recovery is idempotent.
            store.Recover();
            Assert.Equal(entry.State, Assert.Single(store.List()).State);
        }
    }

    [Fact]
    public void Original_rewritten_after_copy_is_not_deleted()
    {
        var dir = TestPaths.NewTempDir();
        var path = NewFile(dir, "x.aspx", Shell, DateTime.UtcNow);
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        store.StepHook = s => { if (s == "stored") File.WriteAllText(path, "rewritten by the attacker"); };
        var entry = store.Quarantine(path);
        Assert.Equal(QuarantineState.Stored, entry.State);
        Assert.Equal("rewritten by the attacker", File.ReadAllText(path));
        Assert.NotEmpty(store.Warnings);
    }

    [Fact]
    public void A_torn_last_journal_line_is_ignored_and_the_journal_stays_usable()
    {
        var dir = TestPaths.NewTempDir();
        var storeDir = Path.Combine(dir, "store");
        var a = NewFile(dir, "a.aspx", Shell, DateTime.UtcNow);
        var b = NewFile(dir, "b.aspx", "<% x %>"u8.ToArray(), DateTime.UtcNow);
        using (var store = QuarantineStore.Open(storeDir)) store.Quarantine(a);
        File.AppendAllText(Path.Combine(storeDir, QuarantineStore.ManifestName), "{\"event\":\"pend");
        using (var store = QuarantineStore.Open(storeDir))
        {
            store.Quarantine(b);
            Assert.Equal(2, store.List().Count);
            Assert.All(store.List(), e => Assert.Equal(QuarantineState.Removed, e.State));
            Assert.Contains(store.Warnings, w => w.Contains("unreadable journal line"));
        }
    }

    [Fact]
    public void Links_folders_and_missing_files_are_refused()
    {
        var dir = TestPaths.NewTempDir();
        using var store = QuarantineStore.Open(Path.Combine(dir, "store"));
        Assert.Throws<QuarantineException>(() => store.Quarantine(Path.Combine(dir, "missing.aspx")));
        Assert.Throws<QuarantineException>(() => store.Quarantine(dir));
        var target = NewFile(dir, "t.aspx", Shell, DateTime.UtcNow);
        var link = Path.Combine(dir, "l.aspx");
        try { File.CreateSymbolicLink(link, target); } catch (IOException) { return; } catch (UnauthorizedAccessException) { return; }
        Assert.Throws<QuarantineException>(() => store.Quarantine(link));
        Assert.True(File.Exists(target));
    }
}

/// <summary>The never-lose-a-byte invariants, shared by the in-process and the kill tests.</summary>
public static class QuarantineInvariants
{
    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>After a crash: the original is intact, or a stored item holds exactly its bytes.</summary>
    public static void AssertOriginalOrVerifiedCopy(string storeDir, string originalPath, byte[] content)
    {
        bool originalIntact = File.Exists(originalPath) && Sha(File.ReadAllBytes(originalPath)) == Sha(content);
        bool verifiedCopy = Directory.EnumerateFiles(Path.Combine(storeDir, QuarantineStore.ItemsFolder), "*.bin")
            .Any(f => QuarantineStore.HashFile(f, neutralised: true) == (Sha(content), content.LongLength));
        Assert.True(originalIntact || verifiedCopy, "neither the original nor a verified copy survived");
    }

    /// <summary>After recovery: removed means a verified copy and no original; abandoned means the original untouched.</summary>
    public static void AssertConsistent(string storeDir, QuarantineEntry entry, string originalPath, byte[] content)
    {
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(storeDir, QuarantineStore.ItemsFolder), "*.tmp"));
        var item = Path.Combine(storeDir, entry.StoredAs);
        switch (entry.State)
        {
            case QuarantineState.Removed:
                Assert.False(File.Exists(originalPath));
                Assert.Equal((Sha(content), content.LongLength), QuarantineStore.HashFile(item, neutralised: true));
                break;
            case QuarantineState.Abandoned:
                Assert.Equal(content, File.ReadAllBytes(originalPath));
                Assert.False(File.Exists(item));
                break;
            default:
                Assert.Fail($"unexpected state after recovery: {entry.State}");
                break;
        }
    }
}
