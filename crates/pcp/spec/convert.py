#!/usr/bin/env python3
"""Regenerates the vendored JSON in this directory from a checkout of ANAC's `anticorruzione/npa`.

Usage: python3 convert.py /path/to/npa/docs   (needs PyYAML)

ANAC's YAML redefines one anchor (`&ratelimit_headers`) many times in specifiche-servizi-appalto.yaml;
YAML 1.2 forbids that and PyYAML refuses it. Every redefinition is identical, so the composer below lets
the later definition win. Nothing else is changed: the JSON is the YAML document as data.
"""
import json, shutil, sys
import yaml
from yaml.composer import Composer

_orig = Composer.compose_node
def _compose_node(self, parent, index):
    if not self.check_event(yaml.events.AliasEvent):
        anchor = self.peek_event().anchor
        if anchor is not None and anchor in self.anchors:
            del self.anchors[anchor]
    return _orig(self, parent, index)
Composer.compose_node = _compose_node

SCHEDE = ['P1.16', 'P2.16', 'P7.2', 'AD3', 'A1.29', 'A2.29', 'S1_2', 'S2', 'SC1', 'NAG', 'dati-comuni']
RULES = ['P1_16', 'P2_16', 'P7_2', 'AD3', 'A1_29', 'A2_29', 'S1_2', 'S2', 'SC1', 'NAG']
TIPOLOGICHE = ['funzioniSvolte', 'ruoloOE', 'tipoOE', 'contrattiDisposizioniParticolari', 'prestazioniComprese',
    'motivoUrgenza', 'tipoFinanziamento', 'ccnl', 'categoria', 'motivoCollegamento', 'esito', 'esitoOperazione',
    'tipoOperazione', 'esitoProcedura', 'esitoProceduraAnnullata', 'criteriAggiudicazione', 'tipoProcedura',
    'codiceScheda', 'categorieMerceologiche', 'errori', 'statoAppalto', 'tipologiaAvvalimento',
    'condizioniNegoziata', 'giustificazioniAggiudicazioneDiretta', 'motivazioneMancatoAffidamento',
    'modalitaAcquisizione', 'giustificazione', 'tipoRealizzazione', 'subappalto', 'accordoQuadro', 'sistemaDinamicoAcquisizione', 'affidamentiRiservati', 'tipoClassificazione', 'oggettoContratto', 'accessibilita', 'settore', 'lingue', 'tipologiaLavoro', 'motivoDerogaQlf', 'motivoDeroga', 'misurePremiali']

def dump(src, dst):
    with open(src) as f:
        data = yaml.safe_load(f)
    with open(dst, 'w') as f:
        json.dump(data, f, indent=1, ensure_ascii=False, default=str)

docs = sys.argv[1]
for s in SCHEDE:
    dump(f'{docs}/modello-dati/schede/modello-dati-schede-{s}.yaml', f'schede/modello-dati-schede-{s}.json')
for m in ['modello-dati-tipologiche', 'modello-dati-npa']:
    dump(f'{docs}/modello-dati/{m}.yaml', f'schede/{m}.json')
dump(f'{docs}/specifiche-interfacce/specifiche-servizi-appalto.yaml', 'openapi/specifiche-servizi-appalto.json')
dump(f'{docs}/specifiche-jws/jws.yaml', 'jws/jws.json')
for r in RULES:
    shutil.copy(f'{docs}/modello-dati/regole/{r}.dmn', 'regole/')
for t in TIPOLOGICHE:
    shutil.copy(f'{docs}/modello-dati/tipologiche/{t}.json', 'tipologiche/')
