; Inno Setup script: FaceExplorer-<version>-windows-x86_64.exe from dist\FaceExplorer\.
;
;   iscc /DAppVersion=0.1.0 packaging\windows\faceexplorer.iss
;
; Built by .github/workflows/installers.yml (windows job) after packaging/build.sh.
; Installs per user by default (no admin rights needed: {localappdata}\Programs), adds a
; Start menu entry and an uninstaller (Settings > Apps). The user's data folder
; (%LOCALAPPDATA%\FaceExplorer) is not touched by the uninstaller.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6F1B6D0E-3C1A-4B7E-9F0C-FACE0E5A1D01}
AppName=FaceExplorer
AppVersion={#AppVersion}
AppPublisher=FaceExplorer developers
DefaultDirName={autopf}\FaceExplorer
DefaultGroupName=FaceExplorer
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=FaceExplorer-{#AppVersion}-windows-x86_64
SetupIconFile=..\icons\faceexplorer.ico
UninstallDisplayIcon={app}\FaceExplorer.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Files]
Source: "..\..\dist\FaceExplorer\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\FaceExplorer"; Filename: "{app}\FaceExplorer.exe"
Name: "{group}\Uninstall FaceExplorer"; Filename: "{uninstallexe}"

[Run]
Filename: "{app}\FaceExplorer.exe"; Description: "Start FaceExplorer"; Flags: nowait postinstall skipifsilent
