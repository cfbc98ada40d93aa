using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Exir.Remediation;

/// <summary>Why a file could not be quarantined or restored; the message is for the operator.</summary>
public sealed class QuarantineException(string message) : Exception(message);

/// <summary>
/// A quarantine store: a folder with items/ (neutralised copies), manifest.jsonl (an append-only
/// journal, flushed to disk after every line) and a README for manual recovery.
///
/// Moving a file never loses a byte: journal "pending" -> write the copy to a temporary name and
/// flush it to disk -> read it back and compare its SHA-256 with the original -> rename it into
/// place -> journal "stored" -> delete the original -> journal "removed". A crash at any point
/// leaves the original or a verified copy; <see cref="Recover"/> (run at the start of every
/// operation) finishes or rolls back whatever the crash interrupted.
/// </summary>
public sealed class QuarantineStore : IDisposable
{
    public const string ManifestName = "manifest.jsonl";
    public const string ReadmeName = "README.txt";
    public const string ItemsFolder = "items";
    private const string LockName = ".lock";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly FileStream _lock;

    public string Root { get; }
    public string ManifestPath => Path.Combine(Root, ManifestName);
    public string ItemsPath => Path.Combine(Root, ItemsFolder);

    /// <summary>
    /// Called with the step name after each step of a move ("pending", "copied", "stored", "verified" = original re-hashed,
    /// about to be deleted, "removed") and of a restore ("restore-opened" = target folder ready, about to write); a test
    /// hook for crash and race tests.
    /// </summary>
    public Action<string>? StepHook { get; set; }

    /// <summary>Problems met while reading the journal or recovering (shown to the operator).</summary>
    public List<string> Warnings { get; } = [];

    private QuarantineStore(string root, FileStream lockStream)
    {
        Root = root;
        _lock = lockStream;
    }

    /// <summary>Opens (creating when needed) the store and takes its lock, so two runs never interleave.</summary>
    public static QuarantineStore Open(string directory, bool create = true)
    {
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
        {
            if (!create) throw new QuarantineException($"quarantine store not found: {root}");
            Directory.CreateDirectory(root);
        }
        Directory.CreateDirectory(Path.Combine(root, ItemsFolder));
        FileStream lockStream;
        try
        {
            lockStream = new FileStream(Path.Combine(root, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new QuarantineException($"quarantine store {root} is in use by another exir run ({e.Message})");
        }
        var store = new QuarantineStore(root, lockStream);
        var readme = Path.Combine(root, ReadmeName);
        if (!File.Exists(readme)) File.WriteAllText(readme, ReadmeText);
        return store;
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Moves one file into the store. Returns its entry (state removed, or stored when the original could not be deleted).</summary>
    public QuarantineEntry Quarantine(string path, FindingReference? finding = null)
    {
        Recover();
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists)
            throw new QuarantineException(Directory.Exists(full) ? $"{full} is a folder; quarantine takes files" : $"file not found: {full}");
        if (info.LinkTarget is not null)
            throw new QuarantineException($"{full} is a link to {info.LinkTarget}; quarantine the target itself");
        if (IsInside(full, Root))
            throw new QuarantineException($"{full} is inside the quarantine store");

        var (sha, size) = HashFile(full, neutralised: false);
        var now = DateTime.UtcNow;
        var id = $"{now:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var entry = new QuarantineEntry
        {
            Id = id,
            OriginalPath = full,
            Sha256 = sha,
            Size = size,
            CreatedUtc = SafeTime(() => info.CreationTimeUtc),
            ModifiedUtc = info.LastWriteTimeUtc,
            AccessedUtc = SafeTime(() => info.LastAccessTimeUtc),
            Attributes = info.Attributes.ToString(),
            Finding = finding,
            QuarantinedBy = WhoAmI(),
            Machine = Environment.MachineName,
            QuarantinedUtc = now,
            StoredAs = $"{ItemsFolder}/{id}.bin",
            State = QuarantineState.Pending,
        };
        Append(new ManifestEvent { Event = QuarantineState.Pending, Id = id, Utc = now, By = entry.QuarantinedBy, Machine = entry.Machine, Entry = entry });
        StepHook?.Invoke("pending");

        var item = Path.Combine(Root, entry.StoredAs);
        var tmp = item + ".tmp";
        WriteNeutralised(full, tmp);
        StepHook?.Invoke("copied");
        var (copySha, copySize) = HashFile(tmp, neutralised: true);
        if (copySha != sha || copySize != size)
        {
            TryDelete(tmp);
            Append(new ManifestEvent { Event = QuarantineState.Abandoned, Id = id, Utc = DateTime.UtcNow, Note = "stored copy did not verify; original left in place" });
            throw new QuarantineException($"copy of {full} did not verify (the file changed while being copied?); original left in place");
        }
        File.Move(tmp, item);
        Append(new ManifestEvent { Event = QuarantineState.Stored, Id = id, Utc = DateTime.UtcNow });
        StepHook?.Invoke("stored");

        var removed = RemoveOriginal(entry);
        StepHook?.Invoke("removed");
        return removed;
    }

    /// <summary>Puts a file back byte for byte with its time stamps. Refuses to overwrite a file at the original path.</summary>
    public QuarantineEntry Restore(string id, string? toPath = null)
    {
        Recover();
        var entry = List().FirstOrDefault(e => e.Id.Equals(id, StringComparison.OrdinalIgnoreCase))
                    ?? throw new QuarantineException($"no quarantined item with id {id} in {Root}");
        if (entry.State is QuarantineState.Abandoned or QuarantineState.Pending)
            throw new QuarantineException($"item {id} was never stored (state {entry.State}); its original was left in place");
        var target = Path.GetFullPath(toPath ?? entry.OriginalPath);
        if (File.Exists(target) || Directory.Exists(target))
            throw new QuarantineException($"{target} exists; not overwritten (move it away or restore elsewhere with --to)");
        var item = Path.Combine(Root, entry.StoredAs);
        var (sha, size) = HashFile(item, neutralised: true);
        if (sha != entry.Sha256 || size != entry.Size)
            throw new QuarantineException($"stored copy {item} does not match its recorded SHA-256; not restored");

        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        StepHook?.Invoke("restore-opened");
        var tmp = target + ".exir-restore.tmp";
        TryDelete(tmp);
        using (var src = OpenRead(item))
        using (var dst = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            SkipMagic(src, item);
            Copy(src, dst, neutralise: true, startPosition: 0);
            dst.Flush(flushToDisk: true);
        }
        var (restoredSha, _) = HashFile(tmp, neutralised: false);
        if (restoredSha != entry.Sha256)
        {
            TryDelete(tmp);
            throw new QuarantineException($"restored bytes of {id} did not verify; nothing written");
        }
        File.Move(tmp, target);
        ApplyTimes(target, entry);
        var now = DateTime.UtcNow;
        Append(new ManifestEvent { Event = QuarantineState.Restored, Id = entry.Id, Utc = now, By = WhoAmI(), Machine = Environment.MachineName, Note = toPath is null ? null : $"restored to {target}" });
        return entry with { State = QuarantineState.Restored, RestoredUtc = now, RestoredBy = WhoAmI() };
    }

    /// <summary>Every entry with its current state, replayed from the journal.</summary>
    public IReadOnlyList<QuarantineEntry> List()
    {
        var entries = new Dictionary<string, QuarantineEntry>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var ev in ReadJournal())
        {
            if (ev.Entry is { } e && ev.Event == QuarantineState.Pending)
            {
                if (entries.TryAdd(ev.Id, e)) order.Add(ev.Id);
                continue;
            }
            if (!entries.TryGetValue(ev.Id, out var cur)) continue;
            entries[ev.Id] = ev.Event switch
            {
                QuarantineState.Restored => cur with { State = QuarantineState.Restored, RestoredUtc = ev.Utc, RestoredBy = ev.By, Note = ev.Note ?? cur.Note },
                "note" => cur with { Note = ev.Note },
                _ => cur with { State = ev.Event, Note = ev.Note ?? cur.Note },
            };
        }
        return order.Select(id => entries[id]).ToList();
    }

    /// <summary>
    /// Finishes or rolls back moves a crash interrupted. Pending with a verifying copy becomes stored;
    /// pending without one is abandoned (the original was never touched). Stored becomes removed once
    /// the original is gone or is deleted here because it is byte-identical to the verified copy.
    /// </summary>
    public void Recover()
    {
        foreach (var tmp in Directory.EnumerateFiles(ItemsPath, "*.tmp")) TryDelete(tmp);
        foreach (var entry in List())
        {
            var item = Path.Combine(Root, entry.StoredAs);
            if (entry.State == QuarantineState.Pending)
            {
                bool verified = File.Exists(item) && HashFileSafe(item, neutralised: true) == (entry.Sha256, entry.Size);
                if (verified)
                {
                    Append(new ManifestEvent { Event = QuarantineState.Stored, Id = entry.Id, Utc = DateTime.UtcNow, Note = "recovered after an interrupted run" });
                    RemoveOriginal(entry with { State = QuarantineState.Stored });
                }
                else
                {
                    TryDelete(item);
                    Append(new ManifestEvent { Event = QuarantineState.Abandoned, Id = entry.Id, Utc = DateTime.UtcNow, Note = "interrupted before the copy was verified; original left in place" });
                    Warnings.Add($"{entry.Id}: an interrupted quarantine of {entry.OriginalPath} was rolled back; the original is untouched");
                }
            }
            else if (entry.State == QuarantineState.Stored)
            {
                RemoveOriginal(entry);
            }
        }
    }

    private QuarantineEntry RemoveOriginal(QuarantineEntry entry)
    {
        var path = entry.OriginalPath;
        if (!File.Exists(path))
        {
            Append(new ManifestEvent { Event = QuarantineState.Removed, Id = entry.Id, Utc = DateTime.UtcNow });
            return entry with { State = QuarantineState.Removed };
        }
        // Delete only what was copied: a file rewritten since (or a new one at that path) stays.
        var current = HashFileSafe(path, neutralised: false);
        if (current != (entry.Sha256, entry.Size))
        {
            var note = $"original changed after it was copied (now sha256 {current.Sha ?? "unreadable"}); left in place, the store holds the earlier content";
            Append(new ManifestEvent { Event = "note", Id = entry.Id, Utc = DateTime.UtcNow, Note = note });
            Warnings.Add($"{entry.Id}: {note}");
            return entry with { State = QuarantineState.Stored, Note = note };
        }
        StepHook?.Invoke("verified");
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var note = $"original could not be deleted: {e.Message}";
            Append(new ManifestEvent { Event = "note", Id = entry.Id, Utc = DateTime.UtcNow, Note = note });
            Warnings.Add($"{entry.Id}: {note}");
            return entry with { State = QuarantineState.Stored, Note = note };
        }
        Append(new ManifestEvent { Event = QuarantineState.Removed, Id = entry.Id, Utc = DateTime.UtcNow });
        return entry with { State = QuarantineState.Removed };
    }

    private IEnumerable<ManifestEvent> ReadJournal()
    {
        if (!File.Exists(ManifestPath)) yield break;
        var lines = File.ReadAllLines(ManifestPath);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            ManifestEvent? ev = null;
            try { ev = JsonSerializer.Deserialize<ManifestEvent>(line, Json); }
            catch (JsonException)
            {
                // A crash can cut the last line short; the step it recorded did not complete.
                Warnings.Add($"{ManifestName}:{i + 1}: unreadable journal line ignored");
            }
            if (ev is not null) yield return ev;
        }
    }

    private void Append(ManifestEvent ev)
    {
        var line = JsonSerializer.Serialize(ev, Json);
        using var fs = new FileStream(ManifestPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        // After a torn write the file may not end with a newline; start a fresh line so the next event parses.
        if (fs.Length > 0)
        {
            fs.Seek(-1, SeekOrigin.End);
            if (fs.ReadByte() != '\n') fs.WriteByte((byte)'\n');
        }
        fs.Seek(0, SeekOrigin.End);
        fs.Write(Encoding.UTF8.GetBytes(line + "\n"));
        fs.Flush(flushToDisk: true);
    }

    private static void WriteNeutralised(string source, string destination)
    {
        using var src = OpenRead(source);
        using var dst = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        dst.Write(Neutraliser.Magic);
        Copy(src, dst, neutralise: true, startPosition: 0);
        dst.Flush(flushToDisk: true);
    }

    private static void Copy(Stream src, Stream dst, bool neutralise, long startPosition)
    {
        var buffer = new byte[81920];
        long pos = startPosition;
        int n;
        while ((n = src.Read(buffer)) > 0)
        {
            if (neutralise) Neutraliser.Apply(buffer.AsSpan(0, n), pos);
            dst.Write(buffer, 0, n);
            pos += n;
        }
    }

    private static void SkipMagic(Stream s, string path)
    {
        var magic = new byte[Neutraliser.Magic.Length];
        if (s.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) != magic.Length || !magic.AsSpan().SequenceEqual(Neutraliser.Magic))
            throw new QuarantineException($"{path} is not an exir quarantine item");
    }

    /// <summary>SHA-256 and size of a file's content (for a stored item: of the original bytes it holds).</summary>
    public static (string Sha, long Size) HashFile(string path, bool neutralised)
    {
        using var s = OpenRead(path);
        if (neutralised) SkipMagic(s, path);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long pos = 0;
        int n;
        while ((n = s.Read(buffer)) > 0)
        {
            if (neutralised) Neutraliser.Apply(buffer.AsSpan(0, n), pos);
            sha.AppendData(buffer, 0, n);
            pos += n;
        }
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), pos);
    }

    private static (string? Sha, long Size) HashFileSafe(string path, bool neutralised)
    {
        try { return HashFile(path, neutralised); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or QuarantineException) { return (null, -1); }
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read);

    private static void ApplyTimes(string path, QuarantineEntry e)
    {
        // Creation first: on file systems without a settable birth time it may touch the others, set next.
        if (e.CreatedUtc is { } c) Try(() => File.SetCreationTimeUtc(path, c));
        Try(() => File.SetLastWriteTimeUtc(path, e.ModifiedUtc));
        if (e.AccessedUtc is { } a) Try(() => File.SetLastAccessTimeUtc(path, a));
        if (OperatingSystem.IsWindows() && e.Attributes is { } attr && Enum.TryParse<FileAttributes>(attr, out var fa))
            Try(() => File.SetAttributes(path, fa));

        static void Try(Action a)
        {
            try { a(); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException) { }
        }
    }

    private static DateTime? SafeTime(Func<DateTime> get)
    {
        try { return get(); } catch (Exception e) when (e is IOException or PlatformNotSupportedException) { return null; }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static bool IsInside(string path, string folder)
    {
        var rel = Path.GetRelativePath(folder, path);
        return !rel.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(rel);
    }

    public static string WhoAmI() =>
        OperatingSystem.IsWindows() && !string.IsNullOrEmpty(Environment.UserDomainName)
            ? $"{Environment.UserDomainName}\\{Environment.UserName}"
            : Environment.UserName;

    public const string ReadmeText = """
        exir quarantine store
        =====================

        Files in items/ are malware or suspected web shells taken off a server by `exir quarantine`.
        They are kept inert, not encrypted for secrecy: each items/<id>.bin is the 18-byte line
        "EXIR-QUARANTINE-1\n" followed by the original bytes XOR-ed with the repeating ASCII key
        "infected" (69 6e 66 65 63 74 65 64), the key position restarting at the first byte after
        the header line.

        manifest.jsonl is an append-only journal, one JSON object per line. The "pending" event of an
        item holds its full record: id, original_path, sha256 and size of the original, its time
        stamps (UTC), the finding that named it, who quarantined it on which machine and when (UTC).
        Later events ("stored", "removed", "restored", "abandoned", "note") update its state.

        Put a file back (byte for byte, with its time stamps):
            exir quarantine restore ID --store THIS-FOLDER
        List what is here:
            exir quarantine list --store THIS-FOLDER

        Without exir (Python 3):
            key = b"infected"; data = open("items/ID.bin", "rb").read()[18:]
            open("original.bin", "wb").write(bytes(b ^ key[i % 8] for i, b in enumerate(data)))
        Without exir (PowerShell):
            $k = [Text.Encoding]::ASCII.GetBytes("infected"); $d = [IO.File]::ReadAllBytes("items\ID.bin")
            $o = New-Object byte[] ($d.Length - 18); for ($i = 0; $i -lt $o.Length; $i++) { $o[$i] = $d[$i + 18] -bxor $k[$i % 8] }
            [IO.File]::WriteAllBytes("original.bin", $o)
        Then compare the SHA-256 of the result with the one in manifest.jsonl.

        Handle the recovered file as live malware: never under a web root, never executed.
        """;
}
