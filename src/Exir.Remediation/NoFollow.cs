using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Exir.Remediation;

/// <summary>Why a path was refused, so callers can tell "gone" (nothing to do) from "changed under us" (leave everything).</summary>
internal enum PathProblem { None, NotFound, Link, NotRegular, Changed, Exists, Unsupported, Other }

/// <summary>A file's identity: (device, inode) on Linux. Unused on Windows, where exir keeps the file's own handle.</summary>
internal readonly record struct FileId(ulong Device, ulong Inode);

/// <summary>
/// File access that never follows a link the intruder planted. A folder is pinned by walking its path from the root one
/// component at a time without following links (Linux: openat with O_NOFOLLOW, keeping an O_PATH descriptor of each
/// folder; Windows: a handle opened with FILE_FLAG_OPEN_REPARSE_POINT whose final path must be the expected one, held
/// without FILE_SHARE_DELETE so the folder cannot be renamed away). Files are then opened, created, renamed and deleted
/// relative to the pinned folder, through the handle that was hashed, so swapping a folder for a link between two steps
/// cannot send exir to a file outside what it was asked to take.
/// </summary>
internal static class NoFollow
{
    /// <summary>True where exir can open without following links (Linux on the common architectures, Windows).</summary>
    public static bool Supported => OperatingSystem.IsWindows() || (OperatingSystem.IsLinux() && Linux.Available);

    public static void EnsureSupported()
    {
        if (!Supported)
            throw new QuarantineException($"quarantine cannot open files without following links on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture}); refused") { Problem = PathProblem.Unsupported };
    }

    private static StringComparison Cmp => OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    public static bool SamePath(string a, string b) =>
        string.Equals(a.TrimEnd(Path.DirectorySeparatorChar), b.TrimEnd(Path.DirectorySeparatorChar), Cmp);

    public static bool IsInside(string path, string folder)
    {
        var sep = Path.DirectorySeparatorChar;
        return (path.TrimEnd(sep) + sep).StartsWith(folder.TrimEnd(sep) + sep, Cmp);
    }

    /// <summary>The absolute path with every link on the way resolved (the part that does not exist is kept as given).</summary>
    public static string Canonical(string path)
    {
        var full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows()) return Windows.Canonical(full);
        int links = 0;
        while (true)
        {
            var root = Path.GetPathRoot(full)!;
            var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            string? restart = null;
            for (int i = 0; i < parts.Length && restart is null; i++)
            {
                var next = Path.Combine(current, parts[i]);
                string? target;
                try { target = new FileInfo(next).LinkTarget; }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { target = null; }
                if (target is not null)
                {
                    if (++links > 40) throw new QuarantineException($"{path}: too many links on the way") { Problem = PathProblem.Link };
                    restart = Path.GetFullPath(Path.Combine([Path.IsPathRooted(target) ? target : Path.Combine(current, target), .. parts[(i + 1)..]]));
                    break;
                }
                if (!File.Exists(next) && !Directory.Exists(next)) return Path.Combine([next, .. parts[(i + 1)..]]);
                current = next;
            }
            if (restart is null) return current;
            full = restart;
        }
    }

    /// <summary>The path with the links in its folders resolved and its last component kept as is (a link there is refused later, not followed).</summary>
    public static string CanonicalParent(string path)
    {
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full);
        return parent is null ? full : Path.Combine(Canonical(parent), Path.GetFileName(full));
    }

    /// <summary>Pins the folder at <paramref name="path"/> (absolute, already canonical), refusing any link on the way; creates missing folders when asked.</summary>
    public static PinnedFolder OpenFolder(string path, bool create)
    {
        EnsureSupported();
        return OperatingSystem.IsWindows() ? Windows.OpenFolder(path, create) : Linux.OpenFolder(path, create);
    }

    internal static QuarantineException Refused(string message, PathProblem problem) => new(message) { Problem = problem };

    // ---------------------------------------------------------------- Linux

    internal static class Linux
    {
        private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
        private const int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
        private const int ENOENT = 2, EPERM = 1, EEXIST = 17, ENOTDIR = 20, EINVAL = 22, ENOSYS = 38, ELOOP = 40, EOPNOTSUPP = 95;
        private const uint STATX_BASIC_STATS = 0x7ff, RENAME_NOREPLACE = 1;
        private const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000;

        /// <summary>(O_DIRECTORY, O_NOFOLLOW): their values differ between architectures; null where exir does not know them.</summary>
        public static readonly (int Directory, int NoFollow)? Flags = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 or Architecture.RiscV64 or Architecture.LoongArch64 => (0x10000, 0x20000),
            Architecture.Arm64 or Architecture.Arm => (0x4000, 0x8000),
            _ => null,
        };

        /// <summary>Known flags and a libc with statx (glibc 2.28+, musl 1.2.5+).</summary>
        public static bool Available => _available ??= Flags is not null && Probe();
        private static bool? _available;

        private static bool Probe()
        {
            try { return Stat(AT_FDCWD, "/").Mode > 0; }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
        }

        private static int O_DIRECTORY => Flags!.Value.Directory;
        private static int O_NOFOLLOW => Flags!.Value.NoFollow;

        [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
        private static extern int OpenAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static extern int Close(int fd);

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern unsafe int StatX(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buf);

        [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
        private static extern int UnlinkAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
        private static extern int RenameAt2(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, uint flags);

        [DllImport("libc", EntryPoint = "linkat", SetLastError = true)]
        private static extern int LinkAt(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath, int flags);

        [DllImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
        private static extern int MkdirAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

        private static int Errno => Marshal.GetLastPInvokeError();

        /// <summary>statx of dirfd/path (no link followed; "" = dirfd itself): (mode, identity), or errno as a negative mode.</summary>
        private static unsafe (int Mode, FileId Id) Stat(int dirfd, string path)
        {
            byte* buf = stackalloc byte[256];
            int flags = AT_SYMLINK_NOFOLLOW | (path.Length == 0 ? AT_EMPTY_PATH : 0);
            if (StatX(dirfd, path, flags, STATX_BASIC_STATS, buf) != 0) return (-Errno, default);
            // struct statx: stx_mode u16 @28, stx_ino u64 @32, stx_dev_major u32 @136, stx_dev_minor u32 @140 (same on every architecture).
            int mode = *(ushort*)(buf + 28);
            ulong ino = *(ulong*)(buf + 32);
            ulong dev = ((ulong)*(uint*)(buf + 136) << 32) | *(uint*)(buf + 140);
            return (mode, new FileId(dev, ino));
        }

        public static PinnedFolder OpenFolder(string path, bool create)
        {
            if (!Path.IsPathRooted(path)) throw Refused($"{path}: not an absolute path", PathProblem.Other);
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            int fd = OpenAt(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
            if (fd < 0) throw Refused($"cannot open /: errno {Errno}", PathProblem.Other);
            var walked = "/";
            try
            {
                foreach (var part in parts)
                {
                    walked = Path.Combine(walked, part);
                    if (part is "." or "..") throw Refused($"{walked}: not a canonical path", PathProblem.Other);
                    int next = OpenAt(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
                    if (next < 0 && Errno == ENOENT && create)
                    {
                        if (MkdirAt(fd, part, 0x1FF) != 0 && Errno != EEXIST) throw Refused($"cannot create {walked}: errno {Errno}", PathProblem.Other);
                        next = OpenAt(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
                    }
                    if (next < 0)
                    {
                        int err = Errno;
                        var kind = Stat(fd, part).Mode;
                        if ((kind >= 0 && (kind & S_IFMT) == S_IFLNK) || err == ELOOP)
                            throw Refused($"{walked} is a link; refused (a folder on the way must not be a link)", PathProblem.Link);
                        if (err == ENOENT) throw Refused($"folder not found: {walked}", PathProblem.NotFound);
                        if (err == ENOTDIR) throw Refused($"{walked} is not a folder", PathProblem.NotFound);
                        throw Refused($"cannot open {walked}: errno {err}", PathProblem.Other);
                    }
                    var (mode, _) = Stat(next, "");
                    if ((mode & S_IFMT) != S_IFDIR)
                    {
                        Close(next);
                        throw Refused((mode & S_IFMT) == S_IFLNK ? $"{walked} is a link; refused (a folder on the way must not be a link)" : $"{walked} is not a folder",
                            (mode & S_IFMT) == S_IFLNK ? PathProblem.Link : PathProblem.NotFound);
                    }
                    Close(fd);
                    fd = next;
                }
                var (m, id) = Stat(fd, "");
                if (m < 0) throw Refused($"cannot stat {path}: errno {-m}", PathProblem.Other);
                var folder = new LinuxFolder(path, fd, id);
                fd = -1;
                return folder;
            }
            finally
            {
                if (fd >= 0) Close(fd);
            }
        }

        private sealed class LinuxFolder(string path, int fd, FileId id) : PinnedFolder(path)
        {
            private int _fd = fd;

            public override PinnedFile OpenFile(string name)
            {
                CheckName(name);
                int f = OpenAt(_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
                var full = System.IO.Path.Combine(Path, name);
                if (f < 0)
                {
                    int err = Errno;
                    throw err switch
                    {
                        ELOOP => Refused($"{full} is a link; quarantine the target itself", PathProblem.Link),
                        ENOENT => Refused($"file not found: {full}", PathProblem.NotFound),
                        _ => Refused($"cannot open {full}: errno {err}", PathProblem.Other),
                    };
                }
                var (mode, fid) = Stat(f, "");
                if ((mode & S_IFMT) != S_IFREG)
                {
                    Close(f);
                    throw (mode & S_IFMT) == S_IFDIR
                        ? Refused($"{full} is a folder; quarantine takes files", PathProblem.NotRegular)
                        : Refused($"{full} is not a regular file (a FIFO, device or socket); refused", PathProblem.NotRegular);
                }
                return new PinnedFile(this, name, new SafeFileHandle((IntPtr)f, ownsHandle: true), fid);
            }

            public override PinnedFile CreateFile(string name)
            {
                CheckName(name);
                int f = OpenAt(_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0x1B6);
                if (f < 0)
                {
                    int err = Errno;
                    throw err == EEXIST
                        ? Refused($"{Path}{System.IO.Path.DirectorySeparatorChar}{name} exists; not overwritten", PathProblem.Exists)
                        : Refused($"cannot create {System.IO.Path.Combine(Path, name)}: errno {err}", PathProblem.Other);
                }
                return new PinnedFile(this, name, new SafeFileHandle((IntPtr)f, ownsHandle: true), Stat(f, "").Id);
            }

            public override bool Exists(string name)
            {
                CheckName(name);
                return Stat(_fd, name).Mode != -ENOENT;
            }

            public override bool StillAtPath()
            {
                try
                {
                    using var again = (LinuxFolder)Linux.OpenFolder(Path, create: false);
                    return again._id == _id;
                }
                catch (QuarantineException) { return false; }
            }

            private readonly FileId _id = id;

            public override void Delete(PinnedFile file)
            {
                if (!StillAtPath())
                    throw Refused($"the folder {Path} changed (a link or another folder was put in its place)", PathProblem.Changed);
                var now = Stat(_fd, file.Name);
                if (now.Mode < 0 || now.Id != file.Id)
                    throw Refused($"{file.FullPath} changed (another file was put in its place)", PathProblem.Changed);
                // unlinkat removes the name in this very folder and never follows a link.
                if (UnlinkAt(_fd, file.Name, 0) != 0) throw new IOException($"cannot delete {file.FullPath}: errno {Errno}");
            }

            public override void Discard(PinnedFile file)
            {
                // Our own new file, in this very folder wherever it is now; only if the name is still that file.
                var now = Stat(_fd, file.Name);
                if (now.Mode >= 0 && now.Id == file.Id) UnlinkAt(_fd, file.Name, 0);
            }

            public override void DeleteName(string name)
            {
                CheckName(name);
                if (UnlinkAt(_fd, name, 0) != 0 && Errno != ENOENT) throw new IOException($"cannot delete {System.IO.Path.Combine(Path, name)}: errno {Errno}");
            }

            public override void RenameNoReplace(PinnedFile file, string newName)
            {
                CheckName(newName);
                var now = Stat(_fd, file.Name);
                if (now.Mode < 0 || now.Id != file.Id)
                    throw Refused($"{file.FullPath} changed before it could be renamed", PathProblem.Changed);
                int rc;
                try { rc = RenameAt2(_fd, file.Name, _fd, newName, RENAME_NOREPLACE); }
                catch (EntryPointNotFoundException) { rc = -1; Marshal.SetLastPInvokeError(ENOSYS); }
                if (rc != 0)
                {
                    int err = Errno;
                    if (err == EEXIST) throw Refused($"{System.IO.Path.Combine(Path, newName)} exists; not overwritten", PathProblem.Exists);
                    if (err is not (EINVAL or ENOSYS or EOPNOTSUPP)) throw new IOException($"cannot rename {file.FullPath}: errno {err}");
                    // No RENAME_NOREPLACE on this file system: a hard link never replaces either.
                    if (LinkAt(_fd, file.Name, _fd, newName, 0) != 0)
                    {
                        err = Errno;
                        throw err == EEXIST ? Refused($"{System.IO.Path.Combine(Path, newName)} exists; not overwritten", PathProblem.Exists)
                            : new IOException($"cannot rename {file.FullPath} without risking an overwrite: errno {err}" + (err == EPERM ? " (no hard links here)" : ""));
                    }
                    UnlinkAt(_fd, file.Name, 0);
                }
                file.Name = newName;
            }

            protected override void Release()
            {
                if (_fd >= 0) Close(_fd);
                _fd = -1;
            }
        }
    }

    // ---------------------------------------------------------------- Windows

    internal static class Windows
    {
        private const uint GENERIC_READ = 0x80000000, GENERIC_WRITE = 0x40000000, DELETE = 0x00010000, FILE_READ_ATTRIBUTES = 0x80, FILE_LIST_DIRECTORY = 0x1;
        private const uint FILE_SHARE_READ = 1, FILE_SHARE_WRITE = 2, FILE_SHARE_DELETE = 4;
        private const uint CREATE_NEW = 1, OPEN_EXISTING = 3;
        private const uint FILE_FLAG_BACKUP_SEMANTICS = 0x02000000, FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000;
        private const int FileRenameInfo = 3, FileDispositionInfo = 4;
        private const int ERROR_FILE_NOT_FOUND = 2, ERROR_PATH_NOT_FOUND = 3, ERROR_FILE_EXISTS = 80, ERROR_ALREADY_EXISTS = 183;

        [DllImport("kernel32.dll", EntryPoint = "CreateFileW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern SafeFileHandle Win32CreateFile(string name, uint access, uint share, IntPtr security, uint disposition, uint flags, IntPtr template);

        [DllImport("kernel32.dll", EntryPoint = "GetFinalPathNameByHandleW", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern uint GetFinalPathNameByHandle(SafeFileHandle handle, char[] buffer, uint length, uint flags);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool SetFileInformationByHandle(SafeFileHandle handle, int infoClass, byte[] info, uint size);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool GetFileInformationByHandle(SafeFileHandle handle, out ByHandleFileInformation info);

        [StructLayout(LayoutKind.Sequential)]
        private struct ByHandleFileInformation
        {
            public uint Attributes;
            public uint CreationLow, CreationHigh, AccessLow, AccessHigh, WriteLow, WriteHigh;
            public uint VolumeSerial, SizeHigh, SizeLow, Links, IndexHigh, IndexLow;
        }

        [DllImport("ntdll.dll")]
        private static extern int NtSetInformationFile(SafeFileHandle handle, out IoStatusBlock status, byte[] info, uint length, int infoClass);

        [DllImport("ntdll.dll")]
        private static extern int RtlNtStatusToDosError(int status);

        [StructLayout(LayoutKind.Sequential)]
        private struct IoStatusBlock { public IntPtr Status; public IntPtr Information; }

        private const int FileRenameInformation = 10;
        private const int STATUS_OBJECT_NAME_COLLISION = unchecked((int)0xC0000035);

        private static FileAttributes? Attributes(SafeFileHandle h) =>
            GetFileInformationByHandle(h, out var info) ? (FileAttributes)info.Attributes : null;

        private static int Error => Marshal.GetLastPInvokeError();

        /// <summary>A path CreateFileW takes at any length, without further normalisation.</summary>
        private static string Long(string path) =>
            path.StartsWith(@"\\?\", StringComparison.Ordinal) ? path
            : path.StartsWith(@"\\", StringComparison.Ordinal) ? @"\\?\UNC\" + path[2..]
            : @"\\?\" + path;

        /// <summary>The path the system reports for an open handle (links resolved, long names), or null.</summary>
        public static string? FinalPath(SafeFileHandle h)
        {
            var buf = new char[1024];
            uint n = GetFinalPathNameByHandle(h, buf, (uint)buf.Length, 0);
            if (n > buf.Length)
            {
                buf = new char[n];
                n = GetFinalPathNameByHandle(h, buf, n, 0);
            }
            if (n == 0 || n > buf.Length) return null;
            var s = new string(buf, 0, (int)n);
            if (s.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase)) return @"\\" + s[8..];
            if (s.StartsWith(@"\\?\", StringComparison.Ordinal)) return s[4..];
            return s;
        }

        public static string Canonical(string full)
        {
            // The longest existing prefix, opened (following links) and asked for its final path; the rest kept as given.
            var probe = full;
            var rest = new List<string>();
            while (!File.Exists(probe) && !Directory.Exists(probe))
            {
                var parent = Path.GetDirectoryName(probe);
                if (parent is null) return full;
                rest.Insert(0, Path.GetFileName(probe));
                probe = parent;
            }
            using var h = Win32CreateFile(Long(probe), FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, IntPtr.Zero, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, IntPtr.Zero);
            if (h.IsInvalid) return full;
            var final = FinalPath(h) ?? probe;
            return rest.Count == 0 ? final : Path.Combine([final, .. rest]);
        }

        public static PinnedFolder OpenFolder(string path, bool create)
        {
            // Refuse a reparse point (junction, symlink, mount point) on the way, then pin the folder and check where it really is.
            var root = Path.GetPathRoot(path) ?? throw Refused($"{path}: not an absolute path", PathProblem.Other);
            var current = root;
            foreach (var part in path[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                current = Path.Combine(current, part);
                var info = new DirectoryInfo(current);
                if (!info.Exists)
                {
                    if (File.Exists(current)) throw Refused($"{current} is not a folder", PathProblem.NotFound);
                    if (info.LinkTarget is not null) throw Refused($"{current} is a link; refused (a folder on the way must not be a link)", PathProblem.Link);
                    if (!create) throw Refused($"folder not found: {current}", PathProblem.NotFound);
                    Directory.CreateDirectory(current);
                    info.Refresh();
                }
                if (info.Attributes.HasFlag(FileAttributes.ReparsePoint))
                    throw Refused($"{current} is a link; refused (a folder on the way must not be a link)", PathProblem.Link);
            }
            var h = Win32CreateFile(Long(path), FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, IntPtr.Zero, OPEN_EXISTING,
                FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, IntPtr.Zero);
            if (h.IsInvalid) throw Refused($"cannot open {path}: error {Error}", PathProblem.Other);
            var folder = new WindowsFolder(path, h);
            if (!folder.StillAtPath())
            {
                folder.Dispose();
                throw Refused($"{path} is reached through a link; refused (a folder on the way must not be a link)", PathProblem.Link);
            }
            return folder;
        }

        private sealed class WindowsFolder(string path, SafeFileHandle handle) : PinnedFolder(path)
        {
            private static bool At(SafeFileHandle h, string expected) =>
                Attributes(h) is { } a && !a.HasFlag(FileAttributes.ReparsePoint) && FinalPath(h) is { } p && SamePath(p, expected);

            public override PinnedFile OpenFile(string name)
            {
                CheckName(name);
                var full = System.IO.Path.Combine(Path, name);
                // No FILE_SHARE_WRITE or FILE_SHARE_DELETE: while exir holds it, nobody rewrites, renames or deletes it.
                var h = Win32CreateFile(Long(full), GENERIC_READ | DELETE, FILE_SHARE_READ, IntPtr.Zero, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, IntPtr.Zero);
                if (h.IsInvalid)
                {
                    int err = Error;
                    if (err is ERROR_FILE_NOT_FOUND or ERROR_PATH_NOT_FOUND) throw Refused($"file not found: {full}", PathProblem.NotFound);
                    throw Refused($"cannot open {full}: error {err}", PathProblem.Other);
                }
                var attrs = Attributes(h) ?? FileAttributes.ReparsePoint;
                if (attrs.HasFlag(FileAttributes.ReparsePoint)) { h.Dispose(); throw Refused($"{full} is a link; quarantine the target itself", PathProblem.Link); }
                if (attrs.HasFlag(FileAttributes.Directory)) { h.Dispose(); throw Refused($"{full} is a folder; quarantine takes files", PathProblem.NotRegular); }
                if (!At(h, full)) { h.Dispose(); throw Refused($"{full} is reached through a link; refused", PathProblem.Link); }
                return new PinnedFile(this, name, h, default);
            }

            public override PinnedFile CreateFile(string name)
            {
                CheckName(name);
                var full = System.IO.Path.Combine(Path, name);
                var h = Win32CreateFile(Long(full), GENERIC_READ | GENERIC_WRITE | DELETE, FILE_SHARE_READ, IntPtr.Zero, CREATE_NEW, FILE_FLAG_OPEN_REPARSE_POINT, IntPtr.Zero);
                if (h.IsInvalid)
                {
                    int err = Error;
                    throw err is ERROR_FILE_EXISTS or ERROR_ALREADY_EXISTS ? Refused($"{full} exists; not overwritten", PathProblem.Exists) : Refused($"cannot create {full}: error {err}", PathProblem.Other);
                }
                var file = new PinnedFile(this, name, h, default);
                if (!At(h, full))
                {
                    // Created somewhere else (a folder was swapped for a link): take our new file back.
                    Discard(file);
                    file.Dispose();
                    throw Refused($"{Path} changed (a link was put on the way); nothing written", PathProblem.Changed);
                }
                return file;
            }

            public override bool Exists(string name)
            {
                CheckName(name);
                var full = System.IO.Path.Combine(Path, name);
                return File.Exists(full) || Directory.Exists(full) || new FileInfo(full).LinkTarget is not null;
            }

            public override bool StillAtPath() => At(handle, Path);

            public override void Delete(PinnedFile file)
            {
                if (!StillAtPath() || !At(file.Handle, file.FullPath))
                    throw Refused($"{file.FullPath} changed (its folder was moved or a link put on the way)", PathProblem.Changed);
                // Delete through the handle that was hashed: exactly this file, wherever a name now points.
                if (!SetFileInformationByHandle(file.Handle, FileDispositionInfo, [1], 1))
                    throw new IOException($"cannot delete {file.FullPath}: error {Error}");
            }

            public override void Discard(PinnedFile file) => SetFileInformationByHandle(file.Handle, FileDispositionInfo, [1], 1);

            public override void DeleteName(string name)
            {
                CheckName(name);
                var full = System.IO.Path.Combine(Path, name);
                if (!StillAtPath()) throw Refused($"{Path} changed; {name} not deleted", PathProblem.Changed);
                File.Delete(full);
            }

            public override void RenameNoReplace(PinnedFile file, string newName)
            {
                CheckName(newName);
                // FILE_RENAME_INFORMATION { BOOLEAN ReplaceIfExists (padded to a pointer); HANDLE RootDirectory; ULONG FileNameLength; WCHAR FileName[] }.
                // Through ntdll, a bare name with no root renames the file within its own folder: no path parsed, no link followed
                // (kernel32's SetFileInformationByHandle would take a bare name as relative to the current directory).
                int nameOffset = IntPtr.Size * 2 + 4;
                var nameBytes = System.Text.Encoding.Unicode.GetBytes(newName);
                var info = new byte[nameOffset + nameBytes.Length + 4];
                BitConverter.TryWriteBytes(info.AsSpan(IntPtr.Size * 2), nameBytes.Length);
                nameBytes.CopyTo(info, nameOffset);
                int status = NtSetInformationFile(file.Handle, out _, info, (uint)info.Length, FileRenameInformation);
                if (status == STATUS_OBJECT_NAME_COLLISION)
                    throw Refused($"{System.IO.Path.Combine(Path, newName)} exists; not overwritten", PathProblem.Exists);
                if (status < 0) throw new IOException($"cannot rename {file.FullPath}: error {RtlNtStatusToDosError(status)}");
                file.Name = newName;
                if (!At(file.Handle, file.FullPath))
                    throw Refused($"{file.FullPath} changed while renaming", PathProblem.Changed);
            }

            protected override void Release() => handle.Dispose();
        }
    }
}

/// <summary>A folder pinned by <see cref="NoFollow.OpenFolder"/>: every operation is relative to it and follows no link.</summary>
internal abstract class PinnedFolder(string path) : IDisposable
{
    /// <summary>Where the folder was when pinned (canonical).</summary>
    public string Path { get; } = path;

    /// <summary>An existing regular file (a link, folder, FIFO or device is refused), held open for reading.</summary>
    public abstract PinnedFile OpenFile(string name);

    /// <summary>A new file (never replaces one), held open for reading and writing.</summary>
    public abstract PinnedFile CreateFile(string name);

    /// <summary>Whether anything (a link included) has this name here.</summary>
    public abstract bool Exists(string name);

    /// <summary>True while the folder's path still leads to this very folder with no link on the way.</summary>
    public abstract bool StillAtPath();

    /// <summary>Deletes the file held by <paramref name="file"/>, only if it is still the same file at the same place (else a Changed refusal).</summary>
    public abstract void Delete(PinnedFile file);

    /// <summary>Takes back a file exir created (through its handle, wherever its folder went); never fails.</summary>
    public abstract void Discard(PinnedFile file);

    /// <summary>Deletes a name in this folder (never what a link points to).</summary>
    public abstract void DeleteName(string name);

    /// <summary>Renames a held file within this folder, never replacing an existing one.</summary>
    public abstract void RenameNoReplace(PinnedFile file, string newName);

    protected abstract void Release();

    protected static void CheckName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains(System.IO.Path.DirectorySeparatorChar) || name.Contains('\0'))
            throw NoFollow.Refused($"'{name}' is not a file name", PathProblem.Other);
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }
}

/// <summary>A file opened through a pinned folder, with the handle every later step uses.</summary>
internal sealed class PinnedFile(PinnedFolder folder, string name, SafeFileHandle handle, FileId id) : IDisposable
{
    public PinnedFolder Folder { get; } = folder;
    public string Name { get; set; } = name;
    public SafeFileHandle Handle { get; } = handle;
    public FileId Id { get; } = id;
    public string FullPath => Path.Combine(Folder.Path, Name);

    public void Dispose() => Handle.Dispose();
}
