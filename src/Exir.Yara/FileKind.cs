using System.Runtime.InteropServices;

namespace Exir.Yara;

/// <summary>Tells regular files from FIFOs, devices and sockets without opening them (opening a FIFO blocks).</summary>
public static class FileKind
{
    // struct stat st_mode type bits.
    private const int S_IFMT = 0xF000, S_IFREG = 0x8000;

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buf);

    /// <summary>True for an existing FIFO, device or socket (opening those can block or never end).</summary>
    public static bool IsSpecialFile(string path) => File.Exists(path) && !IsRegularFile(path);

    /// <summary>True for a regular file (following symlinks). On Windows every existing file counts as regular.</summary>
    public static bool IsRegularFile(string path)
    {
        if (OperatingSystem.IsWindows()) return File.Exists(path);
        if (!OperatingSystem.IsLinux()) return File.Exists(path);
        try
        {
            var buf = new byte[256];
            if (Stat(path, buf) != 0) return File.Exists(path);
            // Linux x86-64 and arm64 both keep st_mode as a 32-bit field at offset 24 (x86-64) / 16 (arm64).
            int offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
            int mode = BitConverter.ToInt32(buf, offset);
            return (mode & S_IFMT) == S_IFREG;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return File.Exists(path);
        }
    }
}
