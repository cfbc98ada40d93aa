using System.Runtime.CompilerServices;

namespace Exir.Knowledge.Tests;

/// <summary>
/// The repository and ../shared, found from this source file's location: tests run from an artifacts
/// folder outside the checkout (--artifacts-path), where walking up from the binary finds nothing.
/// </summary>
internal static class Repo
{
    public static string Root { get; } = Find();
    public static string Knowledge => Path.Combine(Root, "knowledge");
    public static string Shared => Exir.Tests.TestPaths.Shared;

    private static string Find([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "exir.slnx"))) return dir.FullName;
        throw new InvalidOperationException("exir.slnx not found above " + source);
    }
}
