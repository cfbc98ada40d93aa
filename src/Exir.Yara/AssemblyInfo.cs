[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("yscratch")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Exir.Yara.Tests")]
