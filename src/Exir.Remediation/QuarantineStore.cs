using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Exir.Remediation;

/// <summary>Why a file could not be quarantined or restored; the message is for the operator.</summary>
public sealed class QuarantineException(string message) : Exception(message)
{
    internal PathProblem Problem { get; init; }
}

/// <summary>
/// A quarantine store: a folder with items/ (neutralised copies), manifest.jsonl (an append-only
/// journal, flushed to disk after every line) and a README for manual recovery.
///
/// Moving a file never loses a byte: journal "pending" -> write the copy to a temporary name and
/// flush it to disk -> read it back and compare its SHA-256 with the original -> rename it into
/// place -> journal "stored" -> delete the original -> journal "removed". A crash at any point
/// leaves the original or a verified copy; <see cref="Recover"/> (run at the start of every live
/// operation) finishes or rolls back whatever the crash interrupted.
///
/// The evidence tree belongs to the intruder, who may race exir: the original is opened once without
/// following links, through its pinned folder (<see cref="NoFollow"/>), and hashed, copied and deleted
/// through that one handle; before the delete its folder must still be where it was and the name must
/// still be that file, else everything is left in place. Paths read from the manifest stay inside the store.
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

    /// <summary>The id exir writes ("20210303T054200Z-1a2b3c4d"); a manifest entry with any other shape is never acted on.</summary>
    private static readonly System.Text.RegularExpressions.Regex SafeId = new("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private readonly FileStream? _lock;
    private readonly PinnedFolder? _items;

    public string Root { get; }
    public string ManifestPath => Path.Combine(Root, ManifestName);
    public string ItemsPath => Path.Combine(Root, ItemsFolder);

    /// <summary>Opened by <see cref="OpenReadOnly"/>: lists, never changes anything.</summary>
    public bool ReadOnly => _lock is null;

    /// <summary>
    /// Called with the step name after each step of a move ("pending", "copied", "stored", "verified" = original re-hashed,
    /// about to be deleted, "removed") and of a restore ("restore-opened" = target folder ready, about to write); a test
    /// hook for crash and race tests.
    /// </summary>
    public Action<string>? StepHook { get; set; }

    /// <summary>Problems met while reading the journal or recovering (shown to the operator).</summary>
    public List<string> Warnings { get; } = [];

    private QuarantineStore(string root, FileStream? lockStream, PinnedFolder? items)
    {
        Root = root;
        _lock = lockStream;
        _items = items;
    }

    /// <summary>Opens (creating when needed) the store and takes its lock, so two runs never interleave.</summary>
    public static QuarantineStore Open(string directory, bool create = true)
    {
        NoFollow.EnsureSupported();
        // The store is the operator's folder: links on the way to it are resolved once, none is allowed inside it.
        var root = NoFollow.Canonical(directory);
        if (!Directory.Exists(root))
        {
            if (!create) throw new QuarantineException($"quarantine store not found: {root}");
            Directory.CreateDirectory(root);
        }
        foreach (var name in new[] { ItemsFolder, ManifestName, ReadmeName, LockName })
            if (new FileInfo(Path.Combine(root, name)).LinkTarget is { } target)
                throw new QuarantineException($"{Path.Combine(root, name)} is a link to {target}; a quarantine store holds no links");
        FileStream lockStream;
        try
        {
            lockStream = new FileStream(Path.Combine(root, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new QuarantineException($"quarantine store {root} is in use by another exir run ({e.Message})");
        }
        PinnedFolder items;
        try
        {
            items = NoFollow.OpenFolder(Path.Combine(root, ItemsFolder), create: true);
        }
        catch
        {
            lockStream.Dispose();
            throw;
        }
        var store = new QuarantineStore(root, lockStream, items);
        var readme = Path.Combine(root, ReadmeName);
        if (!File.Exists(readme)) File.WriteAllText(readme, ReadmeText);
        return store;
    }

    /// <summary>Opens an existing store to read its journal: no lock, no recovery, nothing created or changed.</summary>
    public static QuarantineStore OpenReadOnly(string directory)
    {
        var root = NoFollow.Canonical(directory);
        if (!Directory.Exists(root)) throw new QuarantineException($"quarantine store not found: {root}");
        return new QuarantineStore(root, null, null);
    }

    public void Dispose()
    {
        _items?.Dispose();
        _lock?.Dispose();
    }

    private PinnedFolder Items => _items ?? throw new InvalidOperationException("the quarantine store was opened read-only");

    /// <summary>Moves one file into the store. Returns its entry (state removed, or stored when the original could not be deleted).</summary>
    public QuarantineEntry Quarantine(string path, FindingReference? finding = null)
    {
        Recover();
        // Links in the folders are resolved once, here: the entry records where the file really is.
        var full = NoFollow.CanonicalParent(path);
        if (Directory.Exists(full) && new DirectoryInfo(full).LinkTarget is null)
            throw new QuarantineException($"{full} is a folder; quarantine takes files");
        if (new FileInfo(full).LinkTarget is { } linkTarget)
            throw new QuarantineException($"{full} is a link to {linkTarget}; quarantine the target itself");
        if (NoFollow.IsInside(full, Root))
            throw new QuarantineException($"{full} is inside the quarantine store");

        using var folder = NoFollow.OpenFolder(Path.GetDirectoryName(full)!, create: false);
        using var original = folder.OpenFile(Path.GetFileName(full));
        var (sha, size) = Hash(original.Handle, neutralised: false);
        var now = DateTime.UtcNow;
        var id = $"{now:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var entry = new QuarantineEntry
        {
            Id = id,
            OriginalPath = full,
            Sha256 = sha,
            Size = size,
            CreatedUtc = SafeTime(() => File.GetCreationTimeUtc(original.Handle)),
            ModifiedUtc = SafeTime(() => File.GetLastWriteTimeUtc(original.Handle)) ?? default,
            AccessedUtc = SafeTime(() => File.GetLastAccessTimeUtc(original.Handle)),
            Attributes = SafeAttributes(original),
            Finding = finding,
            QuarantinedBy = WhoAmI(),
            Machine = Environment.MachineName,
            QuarantinedUtc = now,
            StoredAs = $"{ItemsFolder}/{id}.bin",
            State = QuarantineState.Pending,
        };
        Append(new ManifestEvent { Event = QuarantineState.Pending, Id = id, Utc = now, By = entry.QuarantinedBy, Machine = entry.Machine, Entry = entry });
        StepHook?.Invoke("pending");

        var itemName = $"{id}.bin";
        using (var tmp = Items.CreateFile(itemName + ".tmp"))
        {
            RandomAccess.Write(tmp.Handle, Neutraliser.Magic, 0);
            Copy(original.Handle, 0, tmp.Handle, Neutraliser.Magic.Length, size: -1);
            RandomAccess.FlushToDisk(tmp.Handle);
            StepHook?.Invoke("copied");
            var (copySha, copySize) = Hash(tmp.Handle, neutralised: true);
            if (copySha != sha || copySize != size)
            {
                Items.Discard(tmp);
                Append(new ManifestEvent { Event = QuarantineState.Abandoned, Id = id, Utc = DateTime.UtcNow, Note = "stored copy did not verify; original left in place" });
                throw new QuarantineException($"copy of {full} did not verify (the file changed while being copied?); original left in place");
            }
            Items.RenameNoReplace(tmp, itemName);
        }
        Append(new ManifestEvent { Event = QuarantineState.Stored, Id = id, Utc = DateTime.UtcNow });
        StepHook?.Invoke("stored");

        var removed = RemoveOriginal(entry, original);
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
        var itemName = ItemName(entry) ?? throw new QuarantineException($"item {entry.Id}: its stored_as '{entry.StoredAs}' is not a file of the store's items folder; not restored");
        // The recorded path is taken as it is: a link that appeared on the way since is refused, never followed. A path the
        // operator gives with --to has its links resolved first (the operator chose it).
        string target;
        if (toPath is not null) target = NoFollow.CanonicalParent(toPath);
        else if (OriginalPathOf(entry) is { } original) target = original;
        else throw new QuarantineException($"item {entry.Id}: its original_path '{entry.OriginalPath}' is not an absolute path; restore with --to");
        if (NoFollow.IsInside(target, Root)) throw new QuarantineException($"{target} is inside the quarantine store; restore elsewhere");
        var name = Path.GetFileName(target);

        using var folder = NoFollow.OpenFolder(Path.GetDirectoryName(target)!, create: true);
        if (folder.Exists(name))
            throw new QuarantineException($"{target} exists; not overwritten (move it away or restore elsewhere with --to)");
        using var item = OpenItem(itemName);
        var (sha, size) = Hash(item.Handle, neutralised: true);
        if (sha != entry.Sha256 || size != entry.Size)
            throw new QuarantineException($"stored copy {item.FullPath} does not match its recorded SHA-256; not restored");
        StepHook?.Invoke("restore-opened");

        using (var tmp = folder.CreateFile($"{name}.exir-restore-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}.tmp"))
        {
            try
            {
                Copy(item.Handle, Neutraliser.Magic.Length, tmp.Handle, 0, size);
                RandomAccess.FlushToDisk(tmp.Handle);
                var (restoredSha, _) = Hash(tmp.Handle, neutralised: false);
                if (restoredSha != entry.Sha256) throw new QuarantineException($"restored bytes of {id} did not verify; nothing written");
                ApplyTimes(tmp.Handle, entry);
                if (!folder.StillAtPath())
                    throw new QuarantineException($"{folder.Path} changed while restoring (a link or another folder was put in its place); nothing restored");
                folder.RenameNoReplace(tmp, name);
                // Renamed within the pinned folder; if that folder was moved meanwhile, take the file back out.
                if (!folder.StillAtPath())
                    throw new QuarantineException($"{folder.Path} changed while restoring (a link or another folder was put in its place); nothing restored");
            }
            catch (Exception e) when (e is QuarantineException or IOException or UnauthorizedAccessException)
            {
                folder.Discard(tmp);
                if (e is QuarantineException { Problem: PathProblem.Exists })
                    throw new QuarantineException($"{target} exists; not overwritten (move it away or restore elsewhere with --to)");
                throw;
            }
        }
        if (OperatingSystem.IsWindows() && entry.Attributes is { } attr && Enum.TryParse<FileAttributes>(attr, out var fa))
        {
            try { File.SetAttributes(Path.Combine(folder.Path, name), fa); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException) { }
        }
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
                // The event's id is the one later events use; an entry that says otherwise is not the same item.
                if (e.Id == ev.Id && entries.TryAdd(ev.Id, e)) order.Add(ev.Id);
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
    /// Only live operations recover: a read-only store refuses.
    /// </summary>
    public void Recover()
    {
        var items = Items;
        foreach (var tmp in Directory.EnumerateFiles(ItemsPath, "*.tmp")) TryDeleteName(items, Path.GetFileName(tmp));
        foreach (var entry in List())
        {
            if (entry.State is not (QuarantineState.Pending or QuarantineState.Stored)) continue;
            // A manifest is data: an entry whose item would not be a file of items/, or whose original is not an absolute
            // path, is reported and never acted on.
            if (ItemName(entry) is not { } itemName)
            {
                Warnings.Add($"{entry.Id}: stored_as '{entry.StoredAs}' is not a file of the store's items folder; entry left as it is");
                continue;
            }
            var verified = VerifiedItem(entry, itemName);
            if (entry.State == QuarantineState.Pending)
            {
                if (verified)
                {
                    Append(new ManifestEvent { Event = QuarantineState.Stored, Id = entry.Id, Utc = DateTime.UtcNow, Note = "recovered after an interrupted run" });
                    RemoveOriginalAt(entry with { State = QuarantineState.Stored });
                }
                else
                {
                    TryDeleteName(items, itemName);
                    Append(new ManifestEvent { Event = QuarantineState.Abandoned, Id = entry.Id, Utc = DateTime.UtcNow, Note = "interrupted before the copy was verified; original left in place" });
                    Warnings.Add($"{entry.Id}: an interrupted quarantine of {entry.OriginalPath} was rolled back; the original is untouched");
                }
            }
            else if (verified)
            {
                RemoveOriginalAt(entry);
            }
            else
            {
                Warnings.Add($"{entry.Id}: the stored copy {entry.StoredAs} is missing or does not verify; the original {entry.OriginalPath} is not touched");
            }
        }
    }

    /// <summary>The item's file name in items/ when the entry's stored_as is exactly what exir writes ("items/ID.bin"), else null.</summary>
    private static string? ItemName(QuarantineEntry e) =>
        SafeId.IsMatch(e.Id) && e.StoredAs == $"{ItemsFolder}/{e.Id}.bin" ? $"{e.Id}.bin" : null;

    private static string? OriginalPathOf(QuarantineEntry e) =>
        e.OriginalPath.Length > 0 && Path.IsPathFullyQualified(e.OriginalPath) && NoFollow.SamePath(Path.GetFullPath(e.OriginalPath), e.OriginalPath)
        && Path.GetFileName(e.OriginalPath).Length > 0 ? e.OriginalPath : null;

    private PinnedFile OpenItem(string itemName)
    {
        try { return Items.OpenFile(itemName); }
        catch (QuarantineException e) { throw new QuarantineException($"stored copy {ItemsFolder}/{itemName}: {e.Message}"); }
    }

    private bool VerifiedItem(QuarantineEntry entry, string itemName)
    {
        try
        {
            using var item = Items.OpenFile(itemName);
            return Hash(item.Handle, neutralised: true) == (entry.Sha256, entry.Size);
        }
        catch (Exception e) when (e is QuarantineException or IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Recovery: the original is found again by its recorded path, without following links, and removed like in a move.</summary>
    private QuarantineEntry RemoveOriginalAt(QuarantineEntry entry)
    {
        if (OriginalPathOf(entry) is not { } path)
        {
            Warnings.Add($"{entry.Id}: original_path '{entry.OriginalPath}' is not an absolute path; left as it is");
            return entry;
        }
        try
        {
            using var folder = NoFollow.OpenFolder(Path.GetDirectoryName(path)!, create: false);
            using var original = folder.OpenFile(Path.GetFileName(path));
            return RemoveOriginal(entry, original);
        }
        catch (QuarantineException e) when (e.Problem == PathProblem.NotFound)
        {
            Append(new ManifestEvent { Event = QuarantineState.Removed, Id = entry.Id, Utc = DateTime.UtcNow });
            return entry with { State = QuarantineState.Removed };
        }
        catch (Exception e) when (e is QuarantineException or IOException or UnauthorizedAccessException)
        {
            return LeftInPlace(entry, $"original not removed: {e.Message}; left in place, the store holds a verified copy");
        }
    }

    /// <summary>Deletes the original through the handle it was hashed with, only if it still holds what was copied and is still at its path.</summary>
    private QuarantineEntry RemoveOriginal(QuarantineEntry entry, PinnedFile original)
    {
        // Delete only what was copied: a file rewritten since stays.
        var current = HashSafe(original.Handle, neutralised: false);
        if (current != (entry.Sha256, entry.Size))
            return LeftInPlace(entry, $"original changed after it was copied (now sha256 {current.Sha ?? "unreadable"}); left in place, the store holds the earlier content");
        StepHook?.Invoke("verified");
        try
        {
            original.Folder.Delete(original);
        }
        catch (QuarantineException e) when (e.Problem == PathProblem.Changed)
        {
            return LeftInPlace(entry, $"not deleted: {e.Message} after it was copied; left in place, the store holds a verified copy");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or QuarantineException)
        {
            return LeftInPlace(entry, $"original could not be deleted: {e.Message}");
        }
        Append(new ManifestEvent { Event = QuarantineState.Removed, Id = entry.Id, Utc = DateTime.UtcNow });
        return entry with { State = QuarantineState.Removed };
    }

    private QuarantineEntry LeftInPlace(QuarantineEntry entry, string note)
    {
        Append(new ManifestEvent { Event = "note", Id = entry.Id, Utc = DateTime.UtcNow, Note = note });
        Warnings.Add($"{entry.Id}: {note}");
        return entry with { State = QuarantineState.Stored, Note = note };
    }

    private IEnumerable<ManifestEvent> ReadJournal()
    {
        if (!File.Exists(ManifestPath)) yield break;
        string[] lines;
        // Shared for writing too: a read-only list may run beside a live run that appends.
        using (var fs = new FileStream(ManifestPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(fs, Encoding.UTF8))
            lines = reader.ReadToEnd().Split('\n');
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
        if (ReadOnly) throw new InvalidOperationException("the quarantine store was opened read-only");
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

    /// <summary>Copies <paramref name="size"/> bytes (-1: to the end) between handles, XOR-ing with the neutraliser's key (it encodes and decodes).</summary>
    private static void Copy(SafeFileHandle src, long srcOffset, SafeFileHandle dst, long dstOffset, long size)
    {
        var buffer = new byte[81920];
        long pos = 0;
        while (size < 0 || pos < size)
        {
            int want = size < 0 ? buffer.Length : (int)Math.Min(buffer.Length, size - pos);
            int n = RandomAccess.Read(src, buffer.AsSpan(0, want), srcOffset + pos);
            if (n <= 0) break;
            Neutraliser.Apply(buffer.AsSpan(0, n), pos);
            RandomAccess.Write(dst, buffer.AsSpan(0, n), dstOffset + pos);
            pos += n;
        }
    }

    /// <summary>SHA-256 and size of a file's content (for a stored item: of the original bytes it holds).</summary>
    public static (string Sha, long Size) HashFile(string path, bool neutralised)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try { return Hash(h, neutralised); }
        catch (QuarantineException) { throw new QuarantineException($"{path} is not an exir quarantine item"); }
    }

    private static (string Sha, long Size) Hash(SafeFileHandle h, bool neutralised)
    {
        long start = 0;
        if (neutralised)
        {
            var magic = new byte[Neutraliser.Magic.Length];
            if (RandomAccess.Read(h, magic, 0) != magic.Length || !magic.AsSpan().SequenceEqual(Neutraliser.Magic))
                throw new QuarantineException("not an exir quarantine item");
            start = magic.Length;
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long pos = 0;
        int n;
        while ((n = RandomAccess.Read(h, buffer, start + pos)) > 0)
        {
            if (neutralised) Neutraliser.Apply(buffer.AsSpan(0, n), pos);
            sha.AppendData(buffer, 0, n);
            pos += n;
        }
        return (Convert.ToHexStringLower(sha.GetHashAndReset()), pos);
    }

    private static (string? Sha, long Size) HashSafe(SafeFileHandle h, bool neutralised)
    {
        try { return Hash(h, neutralised); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or QuarantineException) { return (null, -1); }
    }

    private static void ApplyTimes(SafeFileHandle h, QuarantineEntry e)
    {
        // Creation first: on file systems without a settable birth time it may touch the others, set next.
        if (e.CreatedUtc is { } c) Try(() => File.SetCreationTimeUtc(h, c));
        Try(() => File.SetLastWriteTimeUtc(h, e.ModifiedUtc));
        if (e.AccessedUtc is { } a) Try(() => File.SetLastAccessTimeUtc(h, a));

        static void Try(Action a)
        {
            try { a(); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException) { }
        }
    }

    private static string? SafeAttributes(PinnedFile f)
    {
        try { return File.GetAttributes(f.Handle).ToString(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException) { return null; }
    }

    private static DateTime? SafeTime(Func<DateTime> get)
    {
        try { return get(); } catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException) { return null; }
    }

    private static void TryDeleteName(PinnedFolder folder, string name)
    {
        try { folder.DeleteName(name); } catch (Exception e) when (e is IOException or UnauthorizedAccessException or QuarantineException) { }
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
