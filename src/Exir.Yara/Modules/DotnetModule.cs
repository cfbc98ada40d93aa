namespace Exir.Yara;

internal static class DotnetModule
{
    public static readonly MStructT Declaration = new MStructT();
    public static MObj? Build(ScanState s) => null;
}
