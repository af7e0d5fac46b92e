; Inno Setup script: a per-user Windows installer around the PyInstaller folder (dist\tv-engine).
; Built by .github/workflows/desktop.yml (not run here):
;   ISCC.exe /DSourceDir=<repo>\dist\tv-engine /O<repo>\dist packaging\tv-engine.iss
; Installing a newer version over an older one replaces the program files only: the data folder
; (%LOCALAPPDATA%\TV Engine) is not touched, by install, upgrade or uninstall (docs/desktop.md).
#ifndef SourceDir
  #error Pass /DSourceDir=<path to dist\tv-engine>
#endif

[Setup]
; One AppId for every version, so a new installer upgrades the existing install in place.
AppId={{6F1C2A57-3B8E-4C1D-9E0A-7D5B2F4C8A13}
AppName=TV Engine
AppVersion=0.1.0
AppPublisher=TV Engine
DefaultDirName={autopf}\TV Engine
DefaultGroupName=TV Engine
; No administrator rights needed: installs for the current user.
PrivilegesRequired=lowest
OutputBaseFilename=tv-engine-setup
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
; The app must not be running while its files are replaced.
CloseApplications=yes

[InstallDelete]
; An upgrade starts from a clean program folder: no library of the old version lingers.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\TV Engine"; Filename: "{app}\tv-engine.exe"
Name: "{group}\Uninstall TV Engine"; Filename: "{uninstallexe}"

[Run]
Filename: "{app}\tv-engine.exe"; Description: "Start TV Engine now"; Flags: nowait postinstall skipifsilent
