"""The command line's model arguments."""

from grdm_sdv.cli import _steps, build_parser


def test_commands_train_with_the_library_default_steps_unless_told():
    parser = build_parser()
    # Without --steps neither command names a step count, so GRDMSynthesizer's default applies
    # (the demo used to train 1,500 steps while the library trained 2,000).
    for argv in (['demo'], ['fit', 'data_dir', '--model', 'model.pkl']):
        assert _steps(parser.parse_args(argv)) == {}
    assert _steps(parser.parse_args(['demo', '--steps', '7'])) == {'steps': 7}
    assert _steps(parser.parse_args(['fit', 'data_dir', '--model', 'm.pkl', '--steps', '9'])) == {'steps': 9}


def test_bad_input_is_one_line_not_a_traceback(tmp_path, capsys):
    from grdm_sdv.cli import main

    cases = [
        (['sample', str(tmp_path / 'missing.pkl'), '--output', str(tmp_path / 'out')], 'FileNotFoundError'),
        (['fit', str(tmp_path), '--model', str(tmp_path / 'm.pkl')], 'metadata.json'),
        (['demo', '--steps', '0', '--output', str(tmp_path / 'demo')], "'steps'=0"),
    ]
    for argv, expected in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f'grdm-sdv {argv[0]}: error: ') and expected in err
        assert 'Traceback' not in err


def test_traceback_on_request(tmp_path, monkeypatch):
    import pytest

    from grdm_sdv.cli import main

    monkeypatch.setenv('GRDM_SDV_TRACEBACK', '1')
    with pytest.raises(FileNotFoundError):
        main(['sample', str(tmp_path / 'missing.pkl'), '--output', str(tmp_path / 'out')])
