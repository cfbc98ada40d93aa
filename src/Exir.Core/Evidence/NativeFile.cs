using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Exir.Core.Evidence;

/// <summary>What a directory entry is, from its mode bits (links not followed unless asked).</summary>
public enum EntryKind { Missing, Regular, Directory, Symlink, Fifo, CharDevice, BlockDevice, Socket, Other }

/// <summary>What the walk saw of a file: its kind, size, time and identity (device and inode, zero where unknown).</summary>
public readonly record struct FileStat(EntryKind Kind, long Length, DateTimeOffset? LastWriteUtc, ulong Device, ulong Inode)
{
    public bool SameFileAs(FileStat other) => Device == other.Device && Inode == other.Inode;
}

/// <summary>
/// Opens and inspects evidence through the C library on Linux: names as raw bytes (a name that is not UTF-8 is
/// still opened), O_NOATIME (reading evidence leaves its access times as they were), O_NONBLOCK so a FIFO can
/// never block, and a check on the open handle that it is the regular file the walk listed (no link, no
/// device, not swapped since). Elsewhere, or when the C library lacks a call, the managed APIs stand in.
/// </summary>
public static unsafe partial class NativeFile
{
    private const string LibC = "libc";
    internal const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC = 0x7ff;
    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_NOATIME = 0x40000, O_CLOEXEC = 0x80000;
    private const int EPERM = 1, ENOENT = 2, EACCES = 13, ENOTDIR = 20, ELOOP = 40, ENAMETOOLONG = 36;
    // Paths longer than this are opened one folder at a time (PATH_MAX is 4096 with its NUL).
    internal const int MaxPathBytes = 4000;

    // O_DIRECTORY and O_NOFOLLOW differ between architectures (asm-generic vs arm/powerpc).
    private static readonly bool ArmLayout = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le;
    private static readonly int O_DIRECTORY = ArmLayout ? 0x4000 : 0x10000;
    private static readonly int O_NOFOLLOW = ArmLayout ? 0x8000 : 0x20000;

    private static int _native = -1;
    private static readonly string[] Entries = ["statx", "openat", "close", "dup", "fdopendir", "readdir64", "closedir", "realpath", "free", "posix_fadvise"];

    /// <summary>True when the Linux calls are used (64-bit Linux with a C library that has statx).</summary>
    public static bool IsNative
    {
        get
        {
            if (_native >= 0) return _native == 1;
            bool ok = false;
            if (OperatingSystem.IsLinux() && Environment.Is64BitProcess)
            {
                try
                {
                    // Every entry point present (a C library without one falls back here, not mid-walk), and statx
                    // answered by the kernel (old kernels and some sandboxes refuse it).
                    ok = NativeLibrary.TryLoad(LibC, typeof(NativeFile).Assembly, null, out var lib)
                         && Entries.All(e => NativeLibrary.TryGetExport(lib, e, out _));
                    if (ok)
                    {
                        byte* buf = stackalloc byte[256];
                        fixed (byte* p = "/\0"u8) ok = statx(AT_FDCWD, p, 0, STATX_BASIC, buf) == 0;
                    }
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { ok = false; }
            }
            _native = ok ? 1 : 0;
            return ok;
        }
    }

    /// <summary>The kind of what <paramref name="path"/> names, following links (what a user names on the command line).</summary>
    public static EntryKind KindOf(string path) => Stat(path, followLinks: true).Kind;

    /// <summary>The kind, size, time and identity of a path, following links or not.</summary>
    public static FileStat Stat(string path, bool followLinks)
    {
        if (IsNative) return StatAt(AT_FDCWD, Bytes(path), followLinks, out _);
        return ManagedStat(path, followLinks);
    }

    /// <summary>Words for a kind in the coverage ("FIFO (named pipe)", "character device", ...).</summary>
    public static string Describe(EntryKind kind) => kind switch
    {
        EntryKind.Fifo => "FIFO (named pipe)",
        EntryKind.CharDevice => "character device",
        EntryKind.BlockDevice => "block device",
        EntryKind.Socket => "socket",
        EntryKind.Directory => "folder",
        EntryKind.Symlink => "symbolic link",
        EntryKind.Missing => "missing file",
        EntryKind.Regular => "regular file",
        _ => "special file",
    };

    /// <summary>
    /// Opens a regular file read-only for evidence: links followed (the user named it), O_NOATIME where the
    /// owner allows it, and refused with an <see cref="IOException"/> when it is not a regular file (a FIFO
    /// would block the run, a device would never end).
    /// </summary>
    public static Stream OpenRegular(string path)
    {
        if (!IsNative)
        {
            var kind = ManagedStat(path, followLinks: true).Kind;
            if (kind is not EntryKind.Regular and not EntryKind.Missing) throw new IOException($"{path}: {Describe(kind)}, not a regular file: not read");
            return ManagedOpen(path);
        }
        var handle = OpenChecked(Bytes(path), follow: true, expected: null, shown: path);
        return new FileStream(handle, FileAccess.Read, bufferSize: 0);
    }

    /// <summary>Opens a file read-only, following links, with O_NOATIME where allowed (for any file, pipes included).</summary>
    public static Stream OpenPlain(string path)
    {
        if (!IsNative) return ManagedOpen(path);
        var bytes = Bytes(path);
        int fd = OpenNoAtime(bytes, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(Marshal.GetLastPInvokeError(), path);
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    internal static Stream ManagedOpen(string path) =>
        new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0, Options = FileOptions.SequentialScan,
        });

    internal static FileStat ManagedStat(string path, bool followLinks)
    {
        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists) info = new DirectoryInfo(path);
        if (!info.Exists && info.LinkTarget is null) return new FileStat(EntryKind.Missing, 0, null, 0, 0);
        if (info.LinkTarget is not null)
        {
            if (!followLinks) return new FileStat(EntryKind.Symlink, 0, null, 0, 0);
            try { info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info; }
            catch (IOException) { return new FileStat(EntryKind.Missing, 0, null, 0, 0); }
            if (!info.Exists) return new FileStat(EntryKind.Missing, 0, null, 0, 0);
        }
        if (info is DirectoryInfo) return new FileStat(EntryKind.Directory, 0, null, 0, 0);
        var f = (FileInfo)info;
        // Windows marks devices; elsewhere without statx a FIFO cannot be told apart and shows as an empty file.
        if ((f.Attributes & FileAttributes.Device) != 0) return new FileStat(EntryKind.CharDevice, 0, null, 0, 0);
        return new FileStat(EntryKind.Regular, f.Length, new DateTimeOffset(f.LastWriteTimeUtc, TimeSpan.Zero), 0, 0);
    }

    // ---- Linux: raw-name walk and checked opens -------------------------------------------------------------

    internal static byte[] Bytes(string path) => Encoding.UTF8.GetBytes(path);

    /// <summary>The name as text: invalid UTF-8 becomes U+FFFD, as .NET shows such names (the bytes still open the file).</summary>
    internal static string Text(ReadOnlySpan<byte> name) => Encoding.UTF8.GetString(name);

    /// <summary>Stat of <paramref name="name"/> relative to <paramref name="dirFd"/> (or AT_FDCWD); errno in <paramref name="errno"/> when missing.</summary>
    internal static FileStat StatAt(int dirFd, ReadOnlySpan<byte> name, bool followLinks, out int errno)
    {
        byte* buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = Terminated(name, stackalloc byte[512])) rc = statx(dirFd, p, followLinks ? 0 : AT_SYMLINK_NOFOLLOW, STATX_BASIC, buf);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0 ? FromStatx(new ReadOnlySpan<byte>(buf, 256)) : new FileStat(EntryKind.Missing, 0, null, 0, 0);
    }

    internal static FileStat StatFd(int fd, out int errno)
    {
        byte* buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = "\0"u8) rc = statx(fd, p, AT_EMPTY_PATH, STATX_BASIC, buf);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0 ? FromStatx(new ReadOnlySpan<byte>(buf, 256)) : new FileStat(EntryKind.Missing, 0, null, 0, 0);
    }

    private static FileStat FromStatx(ReadOnlySpan<byte> b)
    {
        // struct statx is the same on every architecture, in native byte order.
        int mode = MemoryMarshal.Read<ushort>(b[28..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => EntryKind.Regular,
            0x4000 => EntryKind.Directory,
            0xA000 => EntryKind.Symlink,
            0x1000 => EntryKind.Fifo,
            0x2000 => EntryKind.CharDevice,
            0x6000 => EntryKind.BlockDevice,
            0xC000 => EntryKind.Socket,
            _ => EntryKind.Other,
        };
        ulong ino = MemoryMarshal.Read<ulong>(b[32..]);
        long size = MemoryMarshal.Read<long>(b[40..]);
        long mtimeSec = MemoryMarshal.Read<long>(b[112..]);
        uint mtimeNs = MemoryMarshal.Read<uint>(b[120..]);
        ulong dev = ((ulong)MemoryMarshal.Read<uint>(b[136..]) << 32) | MemoryMarshal.Read<uint>(b[140..]);
        DateTimeOffset? mtime = null;
        if (mtimeSec is > -62135596800L and < 253402300799L)
            mtime = DateTimeOffset.FromUnixTimeSeconds(mtimeSec).AddTicks(mtimeNs / 100);
        return new FileStat(kind, size, mtime, dev, ino);
    }

    /// <summary>Opens a folder for listing; <paramref name="parentFd"/> and a single name, or AT_FDCWD and a path. Never follows a link.</summary>
    internal static int OpenDirectory(int parentFd, ReadOnlySpan<byte> name, bool followLinks, out int errno)
    {
        int fd;
        fixed (byte* p = Terminated(name, stackalloc byte[512])) fd = openat(parentFd, p, O_RDONLY | O_CLOEXEC | O_DIRECTORY | (followLinks ? 0 : O_NOFOLLOW), 0);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>Opens the folder at a '/'-separated path below <paramref name="rootFd"/>, one component at a time, never through a link.</summary>
    internal static int OpenDirectoryBelow(int rootFd, ReadOnlySpan<byte> relative, out int errno)
    {
        errno = 0;
        int current = dup(rootFd);
        if (current < 0) { errno = Marshal.GetLastPInvokeError(); return -1; }
        while (!relative.IsEmpty)
        {
            int slash = relative.IndexOf((byte)'/');
            var part = slash < 0 ? relative : relative[..slash];
            relative = slash < 0 ? default : relative[(slash + 1)..];
            int next = OpenDirectory(current, part, followLinks: false, out errno);
            close(current);
            if (next < 0) return -1;
            current = next;
        }
        return current;
    }

    internal delegate void EntryHandler(ReadOnlySpan<byte> name);

    /// <summary>Calls <paramref name="entry"/> for every name in the folder open as <paramref name="dirFd"/> (which stays open; "." and ".." skipped).</summary>
    internal static bool List(int dirFd, EntryHandler entry, out int errno)
    {
        errno = 0;
        int own = dup(dirFd);
        if (own < 0) { errno = Marshal.GetLastPInvokeError(); return false; }
        var dir = fdopendir(own);
        if (dir == IntPtr.Zero) { errno = Marshal.GetLastPInvokeError(); close(own); return false; }
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var d = readdir64(dir);
                if (d == IntPtr.Zero)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return errno == 0;
                }
                // struct dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated).
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)d + 19);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                entry(name);
            }
        }
        finally { closedir(dir); }
    }

    /// <summary>
    /// Opens a regular file read-only with O_NOATIME (or without when the caller does not own the file), O_NONBLOCK
    /// (a FIFO never blocks) and, unless <paramref name="follow"/>, O_NOFOLLOW. The open handle must be a regular
    /// file, and the file the walk listed when <paramref name="expected"/> is given; otherwise an IOException.
    /// </summary>
    internal static SafeFileHandle OpenChecked(byte[] path, bool follow, FileStat? expected, string shown, int rootFd = -1, ReadOnlySpan<byte> relative = default)
    {
        int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW);
        int fd, errno;
        if (path.Length <= MaxPathBytes || rootFd < 0)
        {
            fd = OpenNoAtime(path, flags);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        else
        {
            // Too long for one call: walk the folders from the root, then open the name in the last one.
            int slash = relative.LastIndexOf((byte)'/');
            errno = 0;
            int dir = slash < 0 ? dup(rootFd) : OpenDirectoryBelow(rootFd, relative[..slash], out errno);
            if (dir < 0) throw Error(errno != 0 ? errno : Marshal.GetLastPInvokeError(), shown);
            try
            {
                fd = OpenNoAtimeAt(dir, relative[(slash + 1)..], flags);
                errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            finally { close(dir); }
        }
        if (fd < 0)
        {
            if (errno == ELOOP && !follow) throw new IOException($"{shown}: replaced by a link since it was listed: not read");
            throw Error(errno, shown);
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var st = StatFd(fd, out _);
        if (st.Kind != EntryKind.Regular)
        {
            handle.Dispose();
            throw new IOException($"{shown}: {Describe(st.Kind)}, not a regular file: not read");
        }
        if (expected is { } e && !e.SameFileAs(st))
        {
            handle.Dispose();
            throw new IOException($"{shown}: replaced since it was listed: not read");
        }
        posix_fadvise(fd, 0, 0, 2 /* POSIX_FADV_SEQUENTIAL */);
        return handle;
    }

    private static int OpenNoAtime(byte[] path, int flags) => OpenNoAtimeAt(AT_FDCWD, path, flags);

    private static int OpenNoAtimeAt(int dirFd, ReadOnlySpan<byte> path, int flags)
    {
        fixed (byte* p = Terminated(path, stackalloc byte[1024]))
        {
            int fd = openat(dirFd, p, flags | O_NOATIME, 0);
            // O_NOATIME is allowed to the file's owner (or with CAP_FOWNER) only.
            if (fd < 0 && Marshal.GetLastPInvokeError() == EPERM) fd = openat(dirFd, p, flags, 0);
            return fd;
        }
    }

    /// <summary>The canonical path (every link resolved) of a path, or null with errno when it cannot be resolved (missing, loop, too long).</summary>
    internal static byte[]? RealPath(ReadOnlySpan<byte> path, out int errno)
    {
        errno = 0;
        IntPtr r;
        fixed (byte* p = Terminated(path, stackalloc byte[1024])) r = realpath(p, IntPtr.Zero);
        if (r == IntPtr.Zero) { errno = Marshal.GetLastPInvokeError(); return null; }
        try { return MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)r).ToArray(); }
        finally { free(r); }
    }

    internal static void Close(int fd) { if (fd >= 0) close(fd); }

    internal static IOException Error(int errno, string path) => errno switch
    {
        ENOENT => new FileNotFoundException($"{path}: no such file"),
        EACCES or EPERM => new IOException($"{path}: permission denied"),
        ENOTDIR => new IOException($"{path}: a folder on the way is not a folder"),
        ELOOP => new IOException($"{path}: too many levels of symbolic links"),
        ENAMETOOLONG => new PathTooLongException($"{path}: path too long"),
        _ => new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
    };

    internal static string Message(int errno) => errno switch
    {
        ENOENT => "no such file or folder",
        EACCES or EPERM => "permission denied",
        ELOOP => "too many levels of symbolic links (a loop)",
        ENAMETOOLONG => "path too long",
        _ => Marshal.GetPInvokeErrorMessage(errno),
    };

    /// <summary>The bytes with a NUL after them, in <paramref name="scratch"/> when it is long enough.</summary>
    private static Span<byte> Terminated(ReadOnlySpan<byte> s, Span<byte> scratch)
    {
        var b = s.Length < scratch.Length ? scratch[..(s.Length + 1)] : new byte[s.Length + 1];
        s.CopyTo(b);
        b[s.Length] = 0;
        return b;
    }

    [LibraryImport(LibC, SetLastError = true)] private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);
    [LibraryImport(LibC, SetLastError = true)] private static partial int openat(int dirfd, byte* path, int flags, int mode);
    [LibraryImport(LibC, SetLastError = true)] private static partial int close(int fd);
    [LibraryImport(LibC, SetLastError = true)] private static partial int dup(int fd);
    [LibraryImport(LibC, SetLastError = true)] private static partial IntPtr fdopendir(int fd);
    [LibraryImport(LibC, SetLastError = true)] private static partial IntPtr readdir64(IntPtr dir);
    [LibraryImport(LibC, SetLastError = true)] private static partial int closedir(IntPtr dir);
    [LibraryImport(LibC, SetLastError = true)] private static partial IntPtr realpath(byte* path, IntPtr resolved);
    [LibraryImport(LibC)] private static partial void free(IntPtr p);
    [LibraryImport(LibC)] private static partial int posix_fadvise(int fd, long offset, long len, int advice);
}
