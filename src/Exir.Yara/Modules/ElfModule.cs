namespace Exir.Yara;

internal static class ElfModule
{
    public static readonly MStructT Declaration = new MStructT().WithConstants("elf");
    public static MObj? Build(ScanState s) => null;
}
